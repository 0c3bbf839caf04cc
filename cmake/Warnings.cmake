# One interface target carries the project's warning flags; every target links it.
add_library(mystyle_warnings INTERFACE)
add_library(mystyle::warnings ALIAS mystyle_warnings)
target_compile_options(mystyle_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${MYSTYLE_WARNINGS_AS_ERRORS}>:-Werror>)
