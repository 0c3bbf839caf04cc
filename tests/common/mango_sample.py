"""A small MANGO catalog for the Python system tests: the first N outfits of outfit_data.csv with
their products, written as `mystyle import csv` item and outfit files."""
import csv
import os


def first_outfits(datasets, outfits):
    """(ids, rows, products): the item ids of the first `outfits` outfits in order of appearance,
    the (outfit, item) rows of those outfits whose item has a product row, and those product rows
    by id."""
    mango = os.path.join(datasets, "mango")
    wanted, rows, seen = [], [], set()
    with open(os.path.join(mango, "outfit_data.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["cod_outfit"] not in seen:
                if len(seen) == outfits:
                    break
                seen.add(r["cod_outfit"])
            rows.append((r["cod_outfit"], r["cod_modelo_color"]))
            if r["cod_modelo_color"] not in wanted:
                wanted.append(r["cod_modelo_color"])
    want = set(wanted)
    products = {}
    with open(os.path.join(mango, "product_data.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["cod_modelo_color"] in want:
                products[r["cod_modelo_color"]] = r
    return [i for i in wanted if i in products], [(o, i) for o, i in rows if i in products], products


def photo_path(datasets, product):
    return os.path.join(datasets, "mango", "images", os.path.basename(product["des_filename"]))


def write_items(path, datasets, ids, products, name=lambda i, r: i):
    """An item file of `ids` (header id,name,category,family,type,colour,url,image,colour_name); `name(id, row)`
    gives each item's name."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "category", "family", "type", "colour", "url", "image", "colour_name"])
        for i in ids:
            r = products[i]
            w.writerow([i, name(i, r), r["des_product_category"], r["des_product_family"], r["des_product_type"],
                        r["des_agrup_color_eng"], f"https://shop.example/{i}", photo_path(datasets, r),
                        r["des_color_specification_esp"]])


def write_outfits(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["outfit_id", "item_id"])
        w.writerows(rows)
