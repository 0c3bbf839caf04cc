#!/usr/bin/env python3
"""tools/check-layers against small trees made here: it passes a clean tree and fails each kind of
problem it exists to catch (a folder cycle, a lower layer including a higher one, a cycle inside a
folder, a serving file including a training file). Standard library only."""
import os
import subprocess
import sys
import tempfile

CHECK = sys.argv[1]


def tree(files):
    root = tempfile.mkdtemp(prefix="check-layers-")
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    return root


def run(files):
    r = subprocess.run([sys.executable, CHECK, tree(files)], capture_output=True, text=True)
    return r.returncode, r.stdout


CLEAN = {
    "include/mystyle/core/error.h": "#pragma once\n",
    "src/core/error.cpp": '#include "mystyle/core/error.h"\n',
    "include/mystyle/engine/recommender.h": '#pragma once\n#include "mystyle/core/error.h"\n',
    "src/engine/recommender.cpp": '#include "mystyle/engine/recommender.h"\n#include "helper.h"\n',
    "src/engine/helper.h": '#pragma once\n#include "mystyle/core/error.h"\n',
    "include/mystyle/train/family.h": '#pragma once\n#include "mystyle/engine/recommender.h"\n',
    "src/train/families.cpp": '#include "mystyle/train/family.h"\n',
    "src/cli/main.cpp": '#include "mystyle/train/family.h"\n#include "mystyle/engine/recommender.h"\n',
}

CASES = {
    "a lower layer including a higher one (core -> engine)": (
        {"src/core/error.cpp": '#include "mystyle/core/error.h"\n#include "mystyle/engine/recommender.h"\n'},
        "a lower stage never knows a higher one"),
    "two folders of one layer including each other": (
        {"include/mystyle/image/a.h": '#pragma once\n#include "mystyle/nn/b.h"\n',
         "include/mystyle/nn/b.h": '#pragma once\n#include "mystyle/image/a.h"\n'},
        "includes mystyle/"),
    "a cycle inside a folder (a.cpp -> b.h -> a.h)": (
        {"include/mystyle/engine/a.h": "#pragma once\n",
         "src/engine/a.cpp": '#include "mystyle/engine/a.h"\n#include "mystyle/engine/b.h"\n',
         "include/mystyle/engine/b.h": '#pragma once\n#include "mystyle/engine/a.h"\n'},
        "include cycle between the units engine/a, engine/b"),
    "a serving file including a training file": (
        {"src/server/routes.cpp": '#include "mystyle/train/family.h"\n'},
        "serving code (server/) includes the training file mystyle/train/family.h"),
    "serving code including nn's trainer": (
        {"src/engine/completer.cpp": '#include "mystyle/nn/trainer.h"\n'},
        "includes the training file mystyle/nn/trainer.h"),
    "a folder with no layer": (
        {"src/newthing/x.cpp": '#include "mystyle/core/error.h"\n'},
        "has no layer"),
}

failures = 0
code, out = run(CLEAN)
if code != 0:
    print(f"FAIL clean tree: exit {code}\n{out}")
    failures += 1
for name, (extra, expected) in CASES.items():
    code, out = run({**CLEAN, **extra})
    if code != 1 or expected not in out:
        print(f"FAIL {name}: exit {code}, expected a line with '{expected}'\n{out}")
        failures += 1
    else:
        print(f"ok   {name}")
print(f"{len(CASES) + 1 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
