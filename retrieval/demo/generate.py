"""Generates the demo shop: Green Basket Market, an online grocery-and-household store.

Why a generator and not hand-written files: the demo needs hundreds of products and thousands of
orders whose histories look like real shopping (staples bought again on a rhythm, things that go
together bought together, seasonal goods only in season, every order status present right now) so
that product search, order look-ups and reorder suggestions can be tried and tested on something
realistic. The tables in this module *are* the shop; the code only combines them. A seed and a
fixed shop clock (`DEMO_TODAY`, never the wall clock) make every run byte-identical.

    python -m retrieval.demo.generate [--seed 7] [--out retrieval/demo/data]

The output follows docs/ingest-format.md: products.csv, customers.csv, orders.csv,
order_items.csv and policies/*.md.
"""

from __future__ import annotations

import argparse
import csv
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from retrieval.demo import DEMO_DATA_DIR

DEFAULT_SEED = 7
DEMO_TODAY = datetime(2026, 11, 20, 12, 0)
HISTORY_DAYS = 548  # about 18 months of orders before DEMO_TODAY
SHOP_NAME = "Green Basket Market"

TAG_VOCABULARY = (
    "vegan",
    "vegetarian",
    "gluten-free",
    "dairy-free",
    "lactose-free",
    "nut-free",
    "organic",
    "low-sugar",
    "sugar-free",
    "high-protein",
    "whole-grain",
    "keto",
    "kosher",
    "halal",
    "fair-trade",
    "family-size",
    "eco",
    "seasonal",
    "decaf",
    "caffeine-free",
    "spicy",
    "fragrance-free",
    "local",
)
ORDER_STATUSES = ("placed", "packed", "shipped", "delivered", "cancelled", "refunded")

# Departments whose products follow a shopper's diet (vegan, vegetarian, gluten-free); drinks,
# household, personal care, baby and pet goods are bought whatever the diet.
FOOD_DEPARTMENTS = (
    "Dairy & Eggs",
    "Plant-Based",
    "Bakery",
    "Pantry",
    "Breakfast",
    "Produce",
    "Meat & Seafood",
    "Deli",
    "Frozen",
    "Snacks",
    "Seasonal",
)

# Month-day spans in which seasonal goods sell (inclusive).
SEASONS = {
    "fall": ((9, 1), (11, 30)),
    "thanksgiving": ((11, 1), (11, 28)),
    "holiday": ((11, 10), (12, 31)),
    "winter": ((11, 1), (2, 28)),
    "halloween": ((10, 1), (10, 31)),
    "summer": ((5, 15), (8, 31)),
}


# --------------------------------------------------------------------------------------------------
# Catalogue tables


@dataclass(frozen=True)
class Brand:
    price_factor: float
    blurbs: tuple[str, ...]
    tags: str = ""


BRANDS: dict[str, Brand] = {
    "Green Basket": Brand(
        0.86,
        (
            "Green Basket is our own label: the same care, a friendlier price.",
            "Part of our Green Basket store range, chosen by our buyers and priced for every day.",
        ),
    ),
    "Meadowvale": Brand(
        1.0,
        (
            "Meadowvale collects its milk from family dairies in the Allenby Valley.",
            "Meadowvale has been bottling in the valley since 1952.",
        ),
        "kosher",
    ),
    "Brookfield Farms": Brand(
        1.08,
        (
            "Brookfield Farms cows graze on open pasture from April to October.",
            "From Brookfield Farms, a co-op of 30 grass-based farms.",
        ),
    ),
    "Hillcrest Creamery": Brand(
        1.18,
        (
            "Hillcrest Creamery makes it in small batches on the farm.",
            "A small-batch dairy favourite from Hillcrest Creamery.",
        ),
    ),
    "Wild Acre Organics": Brand(
        1.25,
        (
            "Wild Acre Organics is certified organic from field to shelf.",
            "Grown without synthetic pesticides by the Wild Acre Organics growers' cooperative.",
        ),
        "organic",
    ),
    "Sunny Hen Farm": Brand(
        1.1,
        (
            "Sunny Hen Farm hens have daily access to the outdoors.",
            "Collected, checked and packed within two days at Sunny Hen Farm.",
        ),
    ),
    "Oatfield": Brand(
        1.0,
        (
            "Oatfield makes its drinks from whole oats grown on the northern prairies.",
            "Oatfield's oat base is enzyme-treated for natural sweetness, with no added sugar in the originals.",
        ),
        "vegan",
    ),
    "Nutwood": Brand(
        1.04,
        (
            "Nutwood blends roasted nuts with filtered water and nothing artificial.",
            "Nutwood has made nut drinks in small creameries since 2009.",
        ),
        "vegan",
    ),
    "Little Bean Co.": Brand(
        0.98,
        (
            "Little Bean Co. uses non-GMO soybeans from farms within 300 miles of its plant.",
            "Little Bean Co. has pressed tofu and soy drinks the traditional way since 1988.",
        ),
        "vegan",
    ),
    "Cocobay": Brand(
        1.1,
        (
            "Cocobay presses its coconut cream from fresh coconuts.",
            "Cocobay coconut products are made without dairy, soy or nuts.",
        ),
        "vegan",
    ),
    "Verdant Table": Brand(
        1.12,
        (
            "Verdant Table makes plant-based proteins that even meat eaters reach for.",
            "Verdant Table is a plant-based kitchen, so everything it makes is vegan.",
        ),
        "vegan",
    ),
    "Hearthstone Bakery": Brand(
        1.12,
        (
            "Baked in stone-deck ovens every morning by Hearthstone Bakery, just across town.",
            "Hearthstone Bakery is a local bakery that delivers to us fresh each day.",
        ),
        "local",
    ),
    "Millrace Bakery": Brand(
        1.0,
        (
            "Millrace Bakery uses flour milled at its own stone mill.",
            "Millrace Bakery has baked bread the slow way since 1921.",
        ),
    ),
    "Freefolk Bakehouse": Brand(
        1.2,
        (
            "Freefolk Bakehouse bakes in a dedicated gluten-free facility.",
            "Every Freefolk Bakehouse batch is tested for gluten before it leaves the bakery.",
        ),
        "gluten-free",
    ),
    "Casa Rustica": Brand(
        1.1,
        (
            "Casa Rustica pasta is extruded through bronze dies and dried slowly for a rough surface that holds sauce.",
            "Casa Rustica works with durum wheat growers in southern Italy.",
        ),
    ),
    "Bellaterra": Brand(
        1.0,
        (
            "Bellaterra brings everyday Italian staples at a fair price.",
            "From Bellaterra, an Italian family company since 1936.",
        ),
        "kosher",
    ),
    "Nonna Lucia": Brand(
        1.15,
        (
            "Nonna Lucia sauces are slow-simmered in open kettles from a family recipe.",
            "Nonna Lucia uses vine-ripened tomatoes and no added sugar in its tomato sauces.",
        ),
    ),
    "Harvest Table": Brand(
        0.98,
        (
            "Harvest Table packs its pantry staples at the peak of the season.",
            "Harvest Table: reliable pantry basics since 1964.",
        ),
        "kosher",
    ),
    "Spice Route": Brand(
        1.0,
        (
            "Spice Route grinds its spices in small lots so they stay fragrant.",
            "Spice Route buys directly from growers and packs everything in resealable jars.",
        ),
    ),
    "Sierra Roja": Brand(
        1.05,
        (
            "Sierra Roja salsas and chips follow recipes from its founders' family in Sonora.",
            "Sierra Roja roasts its peppers over an open flame.",
        ),
    ),
    "Golden Hive": Brand(
        1.1,
        (
            "Golden Hive honey comes from beekeepers in the Allenby Valley.",
            "Golden Hive spreads are made in small batches without palm oil.",
        ),
    ),
    "Sunrise Mills": Brand(
        1.0,
        (
            "Sunrise Mills has been milling oats and grains since 1911.",
            "Sunrise Mills toasts its cereals in small ovens for an even crunch.",
        ),
        "kosher",
    ),
    "Crunchwell": Brand(
        1.05,
        (
            "Crunchwell makes the breakfast cereals families have grown up with.",
            "A Crunchwell breakfast favourite.",
        ),
    ),
    "Maple Hollow": Brand(
        1.12,
        (
            "Maple Hollow is a family sugar bush that also bakes its own granola.",
            "Maple Hollow sweetens with pure maple syrup wherever it can.",
        ),
    ),
    "Sunfield Farms": Brand(
        1.0,
        (
            "Grown by Sunfield Farms, a group of growers within a day's drive of our warehouse.",
            "Sunfield Farms picks and packs for us several times a week.",
        ),
        "local",
    ),
    "Orchard Hill": Brand(
        1.05,
        (
            "Orchard Hill selects fruit from orchards around the world to keep it in season all year.",
            "Orchard Hill fruit is ripened carefully before it reaches us.",
        ),
    ),
    "Prairie Range": Brand(
        1.0,
        (
            "Prairie Range meat is raised without added hormones on family ranches.",
            "Prairie Range trims and packs every cut in its own facility.",
        ),
    ),
    "Crescent Halal": Brand(
        1.05,
        (
            "Crescent Halal meat is certified halal and hand-slaughtered.",
            "Crescent Halal is a halal butcher with certification checked at every batch.",
        ),
        "halal",
    ),
    "Cedar Valley": Brand(
        1.15,
        (
            "Cedar Valley meats are prepared under rabbinical supervision.",
            "Cedar Valley is a certified kosher butcher.",
        ),
        "kosher",
    ),
    "Heritage Butcher": Brand(
        1.12,
        (
            "Heritage Butcher cures and smokes in small batches.",
            "Sliced for us by Heritage Butcher, a deli maker since 1948.",
        ),
    ),
    "Bluewater Seafood": Brand(
        1.08,
        (
            "Bluewater Seafood sources from fisheries with a sustainability certification.",
            "Bluewater Seafood freezes its catch at sea to keep it firm and fresh-tasting.",
        ),
    ),
    "Olive & Thyme": Brand(
        1.05,
        (
            "Olive & Thyme makes its dips fresh in small batches.",
            "An Olive & Thyme mezze favourite.",
        ),
    ),
    "Polar Pantry": Brand(
        1.0,
        (
            "Polar Pantry freezes its produce within hours of harvest.",
            "Polar Pantry frozen foods go from field to freezer the same day.",
        ),
    ),
    "Frostline": Brand(
        1.05,
        (
            "Frostline makes quick freezer meals for busy weeknights.",
            "Frostline recipes are developed in its own test kitchen.",
        ),
    ),
    "Scoop & Co.": Brand(
        1.12,
        (
            "Scoop & Co. churns its ice cream slowly for a dense, creamy scoop.",
            "Scoop & Co. is a small creamery famous for its generous mix-ins.",
        ),
    ),
    "Ridgeback Roasters": Brand(
        1.15,
        (
            "Ridgeback Roasters roasts in small batches and ships within a week of roasting.",
            "Ridgeback Roasters buys Fair Trade beans directly from grower cooperatives.",
        ),
        "fair-trade",
    ),
    "Morning Ritual": Brand(
        1.0,
        (
            "Morning Ritual blends for a consistent cup, morning after morning.",
            "Morning Ritual is the coffee many of our customers grew up on.",
        ),
    ),
    "Copper Kettle Tea Co.": Brand(
        1.05,
        (
            "Copper Kettle Tea Co. blends whole-leaf teas in compostable bags.",
            "Copper Kettle Tea Co. buys Fair Trade tea from estates it visits every year.",
        ),
        "fair-trade",
    ),
    "Clearbrook Springs": Brand(
        1.0,
        (
            "Clearbrook Springs water is bottled at the source.",
            "Clearbrook Springs bottles are made from 100% recycled plastic.",
        ),
    ),
    "Fizzwell": Brand(
        1.0,
        (
            "Fizzwell carbonates with extra-fine bubbles.",
            "Fizzwell has made soda pop and seltzer since 1933.",
        ),
    ),
    "Orchard Gold": Brand(
        1.05,
        (
            "Orchard Gold juices are pressed and never made from concentrate.",
            "Orchard Gold presses its fruit in small batches and keeps it cold all the way to you.",
        ),
    ),
    "Living Leaf": Brand(
        1.1,
        (
            "Living Leaf brews its drinks in small batches.",
            "Living Leaf keeps its ingredient lists short.",
        ),
    ),
    "Crispin's": Brand(
        1.0,
        (
            "Crispin's cooks its chips in small batches.",
            "Crispin's fries in sunflower oil and seasons by hand.",
        ),
    ),
    "Trailhead": Brand(
        1.08,
        (
            "Trailhead makes snacks for hikes, lunchboxes and the afternoon slump.",
            "Trailhead started as a trail-mix stand at the foot of Mount Allenby in 1994.",
        ),
    ),
    "Bramble & Oak": Brand(
        1.1,
        (
            "Bramble & Oak bakes its cookies and crackers with real butter and unbleached flour.",
            "Bramble & Oak is a small bakery brand that started at a farmers' market.",
        ),
    ),
    "Cocoa Lane": Brand(
        1.15,
        (
            "Cocoa Lane works bean to bar with Fair Trade cocoa.",
            "Cocoa Lane chocolate is made with Fair Trade cocoa from West African cooperatives.",
        ),
        "fair-trade",
    ),
    "Holly & Hearth": Brand(
        1.1,
        (
            "Holly & Hearth makes seasonal treats for holiday tables.",
            "A limited-time Holly & Hearth seasonal treat.",
        ),
        "seasonal",
    ),
    "Brightwash": Brand(
        1.0,
        (
            "Brightwash formulas are tested by dermatologists.",
            "Brightwash has cleaned households' laundry and dishes for three generations.",
        ),
    ),
    "PureHome": Brand(
        1.0,
        (
            "PureHome makes everyday cleaning products that get the job done.",
            "PureHome products are made in a zero-waste-to-landfill plant.",
        ),
    ),
    "EcoNest": Brand(
        1.15,
        (
            "EcoNest uses plant-based ingredients and recycled packaging.",
            "EcoNest products are biodegradable and made with renewable energy.",
        ),
        "eco",
    ),
    "Softfold": Brand(
        1.0,
        (
            "Softfold paper comes from responsibly managed forests.",
            "Softfold rolls are wrapped in paper, not plastic.",
        ),
    ),
    "Lumen & Leaf": Brand(
        1.1,
        (
            "Lumen & Leaf hair care is free from sulfates and parabens.",
            "Lumen & Leaf formulas use botanical extracts and are never tested on animals.",
        ),
        "vegan",
    ),
    "Dew Botanics": Brand(
        1.12,
        (
            "Dew Botanics products are vegan and never tested on animals.",
            "Dew Botanics formulates for sensitive skin with plant oils.",
        ),
        "vegan",
    ),
    "Fresh Harbor": Brand(
        1.0,
        (
            "Fresh Harbor has made personal care essentials for families since 1971.",
            "A Fresh Harbor bathroom-cabinet staple.",
        ),
    ),
    "Little Sprout": Brand(
        1.1,
        (
            "Little Sprout products are designed with paediatric nurses.",
            "Little Sprout keeps its ingredient lists short for little ones.",
        ),
    ),
    "Tiny Steps": Brand(
        1.0,
        (
            "Tiny Steps makes baby basics that parents trust.",
            "Tiny Steps products are hypoallergenic and dermatologist tested.",
        ),
    ),
    "Happy Tails": Brand(
        1.05,
        (
            "Happy Tails recipes are formulated with veterinary nutritionists.",
            "Happy Tails uses real meat as the first ingredient.",
        ),
    ),
    "Whisker & Paw": Brand(
        1.05,
        (
            "Whisker & Paw makes cat food and litter for indoor cats.",
            "Whisker & Paw recipes are complete and balanced for adult cats.",
        ),
    ),
}


@dataclass(frozen=True)
class Variant:
    """One product line within a kind: its name, extra tags, a product-specific fact."""

    name: str
    tags: str = ""
    note: str = ""
    sizes: tuple = ()  # overrides the kind's sizes
    brands: tuple = ()  # overrides the kind's brands
    price: float = 1.0  # multiplies the size's base price
    season: str | None = None  # a seasonal line of an all-year kind


@dataclass(frozen=True)
class Kind:
    """A kind of product (say, oat milk) sold in several variants, brands and sizes.

    `cycle` is how many days a household that buys it regularly goes between purchases of the
    smallest size; kinds without one are only ever bought now and then. `keep` limits how many
    variant x brand x size combinations the shop stocks.
    """

    key: str
    category: str
    variants: tuple[Variant, ...]
    brands: tuple[str, ...]
    sizes: tuple = ()  # (size, base price[, extra tags])
    tags: str = ""
    notes: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    cycle: tuple[int, int] | None = None
    season: str | None = None
    audience: str | None = None  # "dog", "cat" or "baby": only such households buy it
    gluten: bool = False  # contains gluten unless tagged gluten-free
    keep: int | None = None
    popularity: float = 1.0


def V(name: str, tags: str = "", note: str = "", sizes=(), brands=(), price: float = 1.0, season=None) -> Variant:
    return Variant(name, tags, note, tuple(sizes), tuple(brands), price, season)


def K(key: str, category: str, variants, brands, sizes=(), tags: str = "", notes=(), uses=(), **kw) -> Kind:
    return Kind(key, category, tuple(variants), tuple(brands), tuple(sizes), tags, tuple(notes), tuple(uses), **kw)


GB = "Green Basket"
FOOD_BASICS = "vegan gluten-free dairy-free nut-free"

KINDS: tuple[Kind, ...] = (
    # ---- Dairy & Eggs
    K(
        "milk",
        "Dairy & Eggs > Milk",
        [
            V("Whole Milk", note="Rich and creamy at 3.25% milk fat."),
            V("2% Reduced Fat Milk", note="The everyday middle ground: 2% milk fat, full of flavour."),
            V("1% Low Fat Milk", note="Light 1% milk with all the calcium of whole milk."),
            V("Skim Milk", note="Fat-free skim milk, fortified with vitamins A and D."),
        ],
        ["Meadowvale", "Brookfield Farms", GB],
        [("1 L", 1.99), ("2 L", 3.49), ("4 L", 5.99, "family-size")],
        tags="vegetarian gluten-free nut-free",
        notes=("Pasteurised and homogenised cow's milk.", "Fresh cow's milk, bottled within 48 hours of milking."),
        uses=(
            "Pour it over cereal, into coffee or straight into a glass.",
            "A fridge staple for breakfast and baking.",
        ),
        cycle=(5, 9),
        keep=14,
        popularity=4.0,
    ),
    K(
        "organic-milk",
        "Dairy & Eggs > Milk",
        [
            V("Organic Whole Milk", note="Organic whole milk from cows fed organic grass and hay."),
            V("Organic 2% Milk", note="Organic 2% milk with a clean, sweet taste."),
        ],
        ["Wild Acre Organics", "Hillcrest Creamery"],
        [("1 L", 2.79), ("2 L", 4.99)],
        tags="vegetarian gluten-free nut-free organic",
        uses=("Great for little ones' cereal bowls.",),
        cycle=(5, 9),
        popularity=1.5,
    ),
    K(
        "lactose-free-milk",
        "Dairy & Eggs > Milk",
        [
            V("Lactose-Free Whole Milk"),
            V("Lactose-Free 2% Milk"),
            V("Lactose-Free Skim Milk"),
        ],
        ["Meadowvale", GB],
        [("1 L", 2.69), ("2 L", 4.49)],
        tags="vegetarian gluten-free nut-free lactose-free",
        notes=(
            "Real cow's milk with the lactase enzyme added, so it is gentle on sensitive stomachs.",
            "All the taste of regular milk without the lactose.",
        ),
        uses=("Use it cup for cup wherever you would use regular milk.",),
        cycle=(5, 9),
        keep=4,
        popularity=1.2,
    ),
    K(
        "flavoured-milk",
        "Dairy & Eggs > Milk",
        [
            V("Chocolate Milk", note="Made with real cocoa and a touch of cane sugar."),
            V("Strawberry Milk", note="Pink, sweet and made with real strawberry purée."),
        ],
        ["Brookfield Farms", "Meadowvale"],
        [("473 ml", 1.79), ("1 L", 2.89)],
        tags="vegetarian gluten-free nut-free",
        uses=("A lunchbox treat or a post-workout drink.",),
        keep=3,
    ),
    K(
        "eggs",
        "Dairy & Eggs > Eggs",
        [
            V("Large White Eggs", note="Grade A large white eggs."),
            V("Large Brown Eggs", note="Grade A large brown eggs with rich yolks."),
            V("Free-Range Large Eggs", note="From hens that roam barns and outdoor paddocks."),
            V("Omega-3 Eggs", note="Hens fed flaxseed, for eggs higher in omega-3 fats."),
            V("Organic Pasture-Raised Eggs", "organic", note="From hens raised on pasture and fed organic grain."),
        ],
        ["Sunny Hen Farm", "Brookfield Farms", GB],
        [("6 ct", 2.49), ("12 ct", 4.29), ("18 ct", 5.99, "family-size")],
        tags="vegetarian gluten-free nut-free dairy-free high-protein",
        uses=("Scramble, poach or bake with them.", "Perfect for weekend brunch and weekday baking."),
        cycle=(7, 14),
        keep=9,
        popularity=3.5,
    ),
    K(
        "butter",
        "Dairy & Eggs > Butter",
        [
            V("Salted Butter", note="Classic salted butter churned from fresh cream."),
            V("Unsalted Butter", note="Sweet cream unsalted butter, the baker's choice."),
            V("Cultured Butter", note="Slow-cultured cream gives it a tangy, nutty depth."),
            V("Spreadable Butter with Olive Oil", note="Soft straight from the fridge thanks to a little olive oil."),
        ],
        ["Hillcrest Creamery", "Meadowvale", GB],
        [("250 g", 3.99), ("454 g", 6.49)],
        tags="vegetarian gluten-free nut-free",
        uses=("Spread it on warm toast or use it for flaky pastry.",),
        cycle=(14, 28),
        keep=6,
        popularity=2.0,
    ),
    K(
        "cheese",
        "Dairy & Eggs > Cheese",
        [
            V("Mild Cheddar", "vegetarian", note="Smooth, mellow cheddar aged for three months."),
            V("Sharp Cheddar", "vegetarian", note="Aged nine months for a tangy bite."),
            V("Extra Sharp Cheddar", "vegetarian", note="Aged over a year, crumbly and bold."),
            V("Mozzarella Block", "vegetarian", note="A mild, stretchy melting cheese."),
            V("Shredded Mozzarella", "vegetarian", note="Pre-shredded low-moisture mozzarella that melts evenly."),
            V("Parmesan Wedge", note="A hard cheese aged 18 months, made with traditional animal rennet."),
            V("Grated Parmesan", note="Finely grated aged parmesan, made with traditional animal rennet."),
            V("Feta", "vegetarian", note="Salty, crumbly brined feta."),
            V("Brie", "vegetarian", note="A soft-ripened cheese with a buttery centre."),
            V("Swiss Cheese Slices", "vegetarian", note="Nutty, holey Swiss, pre-sliced for sandwiches."),
            V("Shredded Mexican Blend", "vegetarian", note="Cheddar, Monterey Jack and asadero, shredded together."),
            V("Halloumi", "vegetarian", note="A firm cheese that holds its shape on the grill."),
            V("Goat Cheese Log", "vegetarian", note="Fresh, creamy and tangy chèvre."),
            V(
                "Cottage Cheese 2%",
                "vegetarian high-protein",
                note="Small-curd cottage cheese with 12 g of protein per serving.",
            ),
        ],
        ["Hillcrest Creamery", "Meadowvale", GB],
        [("200 g", 4.49), ("400 g", 7.99)],
        tags="gluten-free nut-free",
        uses=("Made for cheese boards, sandwiches and bakes.", "Melt it, grate it or snack on it."),
        cycle=(10, 21),
        keep=16,
        popularity=2.5,
    ),
    K(
        "yogurt",
        "Dairy & Eggs > Yogurt",
        [
            V(
                "Plain Greek Yogurt",
                "high-protein low-sugar",
                note="Thick strained yogurt with 15 g of protein per serving.",
            ),
            V("Vanilla Greek Yogurt", "high-protein", note="Strained yogurt with real Madagascar vanilla."),
            V("Honey Greek Yogurt", "high-protein", note="Greek yogurt swirled with wildflower honey."),
            V("Strawberry Yogurt", note="Creamy yogurt on the bottom of a layer of strawberry fruit."),
            V("Blueberry Skyr", "high-protein", note="Icelandic-style skyr, extra thick and mild, with blueberries."),
            V("Plain Whole Milk Yogurt", note="Mild, creamy and tangy with live active cultures."),
        ],
        ["Hillcrest Creamery", "Meadowvale", "Wild Acre Organics", GB],
        [("150 g", 1.29), ("500 g", 3.99), ("750 g", 5.49, "family-size")],
        tags="vegetarian gluten-free nut-free",
        uses=("Top it with granola and fruit.", "Good in smoothies and as a sour-cream swap."),
        cycle=(6, 11),
        keep=12,
        popularity=2.5,
    ),
    K(
        "cream",
        "Dairy & Eggs > Cream",
        [
            V("Heavy Whipping Cream 36%", note="Whips to stiff peaks in minutes."),
            V("Half & Half", note="Equal parts milk and cream, made for coffee."),
            V("Sour Cream", note="Thick, tangy cultured cream."),
            V("Coffee Cream 10%", note="Light cream that softens a cup of coffee."),
        ],
        ["Meadowvale", "Brookfield Farms", GB],
        [("250 ml", 2.29), ("500 ml", 3.79)],
        tags="vegetarian gluten-free nut-free",
        uses=("Stir it into sauces, soups and coffee.",),
        cycle=(10, 18),
        keep=6,
        popularity=1.8,
    ),
    K(
        "cream-cheese",
        "Dairy & Eggs > Cheese",
        [
            V("Plain Cream Cheese", note="Smooth and spreadable plain cream cheese."),
            V("Chive & Onion Cream Cheese", note="Whipped with fresh chives and onion."),
            V("Light Cream Cheese", note="A third less fat than regular cream cheese."),
        ],
        ["Hillcrest Creamery", GB],
        [("227 g", 2.99)],
        tags="vegetarian gluten-free nut-free",
        uses=("Made for bagels and cheesecake.",),
        cycle=(14, 28),
        keep=3,
    ),
    K(
        "eggnog",
        "Dairy & Eggs > Milk",
        [
            V("Classic Eggnog", note="Rich, spiced holiday eggnog with nutmeg and cinnamon."),
            V("Light Eggnog", note="All the holiday spice with a third less fat."),
        ],
        ["Meadowvale", "Brookfield Farms"],
        [("1 L", 3.99)],
        tags="vegetarian gluten-free seasonal",
        uses=("Serve it chilled or stir it into coffee.",),
        season="holiday",
        keep=2,
    ),
    # ---- Plant-Based
    K(
        "oat-milk",
        "Plant-Based > Plant Milk",
        [
            V("Original Oat Milk", note="Creamy, naturally sweet oat milk."),
            V("Barista Oat Milk", note="Froths into silky microfoam for lattes and cappuccinos."),
            V("Unsweetened Oat Milk", "low-sugar", note="Oat milk with no added sugar."),
            V("Chocolate Oat Milk", note="Oat milk blended with cocoa for a dairy-free chocolate milk."),
        ],
        ["Oatfield", GB],
        [("1 L", 3.49), ("1.75 L", 5.29)],
        tags="vegan dairy-free nut-free lactose-free",
        uses=("Use it in coffee, over cereal or in smoothies.", "A plant-based milk that works in baking too."),
        cycle=(6, 10),
        keep=8,
        popularity=2.5,
    ),
    K(
        "almond-milk",
        "Plant-Based > Plant Milk",
        [
            V("Original Almond Milk", note="Lightly sweetened almond milk with a mild nutty taste."),
            V("Unsweetened Almond Milk", "low-sugar keto", note="Just 30 calories a cup and no sugar."),
            V("Vanilla Almond Milk", note="Almond milk with a hint of vanilla."),
        ],
        ["Nutwood", GB],
        [("1 L", 3.29), ("1.89 L", 4.99)],
        tags="vegan dairy-free gluten-free lactose-free",
        uses=("Great in smoothies, overnight oats and coffee.",),
        cycle=(6, 10),
        keep=5,
        popularity=1.8,
    ),
    K(
        "soy-milk",
        "Plant-Based > Plant Milk",
        [
            V("Original Soy Milk", note="A creamy soy milk with 7 g of plant protein per cup."),
            V("Unsweetened Soy Milk", "low-sugar", note="Soy milk with no added sugar and 7 g of protein per cup."),
            V("Vanilla Soy Milk", note="Smooth soy milk flavoured with vanilla."),
        ],
        ["Little Bean Co.", GB],
        [("1 L", 2.99), ("1.89 L", 4.59)],
        tags="vegan dairy-free gluten-free nut-free lactose-free high-protein",
        uses=("Froths well and holds up in hot drinks.",),
        cycle=(6, 10),
        keep=4,
        popularity=1.2,
    ),
    K(
        "other-plant-milk",
        "Plant-Based > Plant Milk",
        [
            V(
                "Coconut Milk Beverage",
                "nut-free",
                note="A light coconut drink, not the canned cooking kind.",
                brands=["Cocobay"],
            ),
            V(
                "Pea Protein Milk",
                "nut-free high-protein",
                note="Made from yellow peas with 8 g of protein per cup.",
                brands=["Verdant Table"],
            ),
            V("Cashew Milk", note="Extra creamy milk made from cashews.", brands=["Nutwood"]),
            V("Rice Milk", "nut-free", note="A light, naturally sweet drink made from brown rice.", brands=[GB]),
        ],
        [],
        [("1 L", 3.49)],
        tags="vegan dairy-free gluten-free lactose-free",
        uses=("Pour it over cereal or blend it into smoothies.",),
        cycle=(6, 10),
        popularity=0.8,
    ),
    K(
        "oat-creamer",
        "Plant-Based > Plant Milk",
        [
            V("Oat Milk Creamer", note="A thick oat creamer that doesn't split in hot coffee."),
            V("Pumpkin Spice Oat Creamer", season="fall", note="Oat creamer with pumpkin, cinnamon and clove."),
            V("Hazelnut Oat Creamer", note="Oat creamer with natural hazelnut flavour."),
        ],
        ["Oatfield"],
        [("750 ml", 4.49)],
        tags="vegan dairy-free lactose-free",
        uses=("Stir it into coffee or tea.",),
        cycle=(12, 20),
        popularity=0.8,
    ),
    K(
        "plant-yogurt",
        "Plant-Based > Plant Yogurt",
        [
            V("Plain Coconut Yogurt", "nut-free", note="Cultured coconut cream, thick and tangy.", brands=["Cocobay"]),
            V("Vanilla Oat Yogurt", "nut-free", note="Oat-based yogurt with vanilla bean.", brands=["Oatfield"]),
            V("Strawberry Almond Yogurt", note="Almond-milk yogurt with strawberry.", brands=["Nutwood"]),
            V(
                "Plain Soy Yogurt",
                "nut-free high-protein",
                note="Soy yogurt with live cultures and 6 g of protein.",
                brands=["Little Bean Co."],
            ),
        ],
        [],
        [("400 g", 4.49)],
        tags="vegan dairy-free gluten-free",
        uses=("Spoon it over granola or into a smoothie.",),
        cycle=(7, 12),
    ),
    K(
        "tofu",
        "Plant-Based > Tofu & Tempeh",
        [
            V("Extra Firm Tofu", note="Pressed extra firm so it crisps up in the pan."),
            V("Firm Tofu", note="Firm tofu for stir-fries and scrambles."),
            V("Silken Tofu", note="Custard-soft tofu for smoothies, dressings and desserts."),
            V("Smoked Tofu", note="Beechwood-smoked tofu, ready to slice."),
            V("Organic Tempeh", "organic", note="Fermented whole soybeans with a nutty, firm bite."),
        ],
        ["Little Bean Co.", "Verdant Table"],
        [("350 g", 2.99)],
        tags="vegan dairy-free gluten-free nut-free high-protein",
        uses=("Marinate it, bake it or toss it into a curry.",),
        cycle=(7, 14),
        keep=5,
    ),
    K(
        "plant-meat",
        "Plant-Based > Meat Alternatives",
        [
            V(
                "Plant-Based Burger Patties",
                note="Juicy pea-protein patties that sear like beef.",
                sizes=[("4 ct", 7.99)],
            ),
            V("Meatless Grounds", note="Plant-based mince for tacos, chili and bolognese.", sizes=[("340 g", 5.99)]),
            V("Vegan Italian Sausages", note="Seasoned with fennel and garlic.", sizes=[("4 ct", 6.49)]),
            V("Chickpea Nuggets", note="Crispy breaded chickpea nuggets kids love.", sizes=[("400 g", 5.49)]),
        ],
        ["Verdant Table", GB],
        tags="vegan dairy-free high-protein",
        uses=("Cooks in about ten minutes.",),
        cycle=(10, 20),
        keep=4,
        gluten=True,
    ),
    K(
        "vegan-cheese",
        "Plant-Based > Vegan Cheese",
        [
            V("Vegan Mozzarella Shreds", "nut-free", note="Coconut-oil based shreds that melt and stretch on pizza."),
            V("Vegan Cheddar Slices", "nut-free", note="Dairy-free cheddar-style slices."),
            V("Cashew Cream Cheese", note="Cultured cashew spread with a tangy, cream-cheese taste."),
        ],
        ["Verdant Table"],
        [("200 g", 5.49)],
        tags="vegan dairy-free gluten-free lactose-free",
        uses=("Use it anywhere you would use dairy cheese.",),
    ),
    # ---- Bakery
    K(
        "bread",
        "Bakery > Bread",
        [
            V("White Sandwich Bread", "vegetarian", note="Soft white bread for sandwiches and toast."),
            V("100% Whole Wheat Bread", "vegan whole-grain", note="Made entirely with whole wheat flour."),
            V(
                "12-Grain Bread",
                "vegan whole-grain",
                note="Packed with twelve grains and seeds, including flax and millet.",
            ),
            V("Sourdough Loaf", "vegan", note="Naturally leavened with a 48-hour fermentation and a blistered crust."),
            V("Rye Bread with Caraway", "vegan", note="A dense, tangy deli-style rye."),
            V("Cinnamon Raisin Bread", "vegetarian", note="Swirled with cinnamon and plump raisins."),
            V("Brioche Loaf", "vegetarian", note="A rich, buttery egg bread.", sizes=[("400 g", 4.99)]),
        ],
        ["Hearthstone Bakery", "Millrace Bakery", GB],
        [("675 g", 3.49)],
        notes=("Sliced and bagged the same day it is baked.",),
        uses=("Makes great toast and sandwiches.", "Freeze half the loaf to keep it fresh."),
        cycle=(5, 9),
        gluten=True,
        keep=10,
        popularity=3.5,
    ),
    K(
        "gf-bread",
        "Bakery > Bread",
        [
            V("Gluten-Free White Bread", note="Soft gluten-free sandwich bread made from rice and tapioca flour."),
            V("Gluten-Free Multigrain Bread", "whole-grain", note="Gluten-free bread with sorghum, millet and seeds."),
            V("Gluten-Free Bagels", note="Chewy gluten-free bagels, 4 to a pack.", sizes=[("4 ct", 5.99)]),
            V("Gluten-Free Hamburger Buns", note="Soft gluten-free buns, 4 to a pack.", sizes=[("4 ct", 5.79)]),
        ],
        ["Freefolk Bakehouse"],
        [("500 g", 5.99)],
        tags="vegetarian gluten-free dairy-free nut-free",
        uses=("Best toasted.",),
        cycle=(6, 12),
        popularity=1.0,
    ),
    K(
        "bagels",
        "Bakery > Bagels & Muffins",
        [
            V("Plain Bagels", "vegan"),
            V("Sesame Bagels", "vegan"),
            V("Everything Bagels", "vegan"),
            V("Cinnamon Raisin Bagels", "vegan"),
            V("Blueberry Bagels", "vegetarian"),
        ],
        ["Hearthstone Bakery", GB],
        [("6 ct", 3.99)],
        notes=("Boiled, then baked for a chewy crust.", "New York-style bagels, boiled before baking."),
        uses=("Split, toast and top with cream cheese.",),
        cycle=(7, 14),
        gluten=True,
        keep=5,
    ),
    K(
        "english-muffins",
        "Bakery > Bagels & Muffins",
        [
            V("English Muffins", "vegetarian", note="Fork-split English muffins full of nooks and crannies."),
            V(
                "Whole Wheat English Muffins",
                "vegetarian whole-grain",
                note="Whole wheat English muffins, toasted crisp.",
            ),
        ],
        ["Millrace Bakery", GB],
        [("6 ct", 2.99)],
        uses=("Made for eggs Benedict.",),
        cycle=(7, 14),
        gluten=True,
        keep=2,
    ),
    K(
        "buns",
        "Bakery > Buns & Rolls",
        [
            V("Hamburger Buns", "vegetarian", note="Soft sesame-topped buns that hold up to a juicy burger."),
            V("Hot Dog Buns", "vegetarian", note="Soft, top-sliced hot dog buns."),
            V("Brioche Burger Buns", "vegetarian", note="Golden brioche buns.", sizes=[("4 ct", 4.49)]),
            V("Dinner Rolls", "vegetarian", note="Pull-apart dinner rolls, soft and buttery.", sizes=[("12 ct", 3.99)]),
        ],
        ["Hearthstone Bakery", GB],
        [("8 ct", 2.99)],
        uses=("Warm them in the oven for a minute.",),
        gluten=True,
        keep=5,
    ),
    K(
        "tortillas",
        "Bakery > Wraps & Flatbreads",
        [
            V("Flour Tortillas", "vegan", note="Soft flour tortillas for burritos and wraps."),
            V("Whole Wheat Tortillas", "vegan whole-grain", note="Whole wheat wraps with a hearty bite."),
            V(
                "Corn Tortillas",
                "vegan gluten-free",
                note="Stone-ground corn tortillas for tacos.",
                sizes=[("12 ct", 2.79)],
            ),
            V("Naan Bread", "vegetarian", note="Tandoor-style naan, soft and blistered.", sizes=[("4 ct", 3.49)]),
            V("Pita Bread", "vegan", note="Pocket pitas for stuffing or dipping.", sizes=[("6 ct", 2.49)]),
        ],
        ["Millrace Bakery", GB],
        [("8 ct", 3.29)],
        uses=("Warm in a dry pan for 30 seconds a side.",),
        cycle=(10, 18),
        gluten=True,
        keep=5,
    ),
    K(
        "pastries",
        "Bakery > Pastries",
        [
            V("Butter Croissants", note="Flaky all-butter croissants, 27 layers each."),
            V("Blueberry Muffins", note="Tender muffins bursting with blueberries."),
            V("Cinnamon Rolls", note="Soft rolls with a cinnamon-sugar swirl and icing."),
            V("Pumpkin Spice Muffins", season="fall", note="Moist pumpkin muffins with warm spices and a crumb top."),
        ],
        ["Hearthstone Bakery"],
        [("4 ct", 5.49)],
        tags="vegetarian",
        uses=("Warm them for a few minutes in the oven.",),
        gluten=True,
    ),
    # ---- Pantry
    K(
        "pasta",
        "Pantry > Pasta",
        [
            V("Spaghetti"),
            V("Penne Rigate"),
            V("Fusilli"),
            V("Rigatoni"),
            V("Farfalle"),
            V("Linguine"),
            V("Elbow Macaroni"),
            V("Orzo"),
        ],
        ["Casa Rustica", "Bellaterra", GB],
        [("500 g", 1.99), ("1 kg", 3.49, "family-size")],
        tags="vegan dairy-free nut-free",
        notes=(
            "Made from 100% durum wheat semolina.",
            "Cooks al dente in 9 to 11 minutes.",
            "Durum wheat pasta with a firm bite.",
        ),
        uses=("Pair it with a tomato sauce or pesto.", "A weeknight dinner staple."),
        cycle=(14, 28),
        gluten=True,
        keep=14,
        popularity=2.5,
    ),
    K(
        "specialty-pasta",
        "Pantry > Pasta",
        [
            V("Whole Wheat Spaghetti", "vegan whole-grain", note="Whole wheat spaghetti with three times the fibre."),
            V("Whole Wheat Penne", "vegan whole-grain", note="Nutty whole wheat penne."),
            V("Gluten-Free Penne", "vegan gluten-free", note="Made from brown rice and corn; holds its shape."),
            V("Gluten-Free Spaghetti", "vegan gluten-free", note="Brown rice and quinoa spaghetti."),
            V(
                "Red Lentil Rotini",
                "vegan gluten-free high-protein",
                note="Made only from red lentils, 13 g of protein a serving.",
            ),
            V(
                "Chickpea Penne",
                "vegan gluten-free high-protein",
                note="Chickpea pasta with 11 g of protein a serving.",
            ),
            V("Lasagna Sheets", "vegan", note="Oven-ready sheets, no boiling needed."),
            V("Egg Fettuccine", "vegetarian", note="Rich egg pasta ribbons."),
        ],
        ["Casa Rustica", "Bellaterra"],
        [("340 g", 3.29)],
        tags="dairy-free nut-free",
        uses=("Cook in plenty of salted water.",),
        cycle=(14, 28),
        gluten=True,
        keep=8,
    ),
    K(
        "pasta-sauce",
        "Pantry > Pasta Sauce",
        [
            V("Marinara Sauce", "vegan gluten-free", note="Tomatoes, garlic and oregano, slow simmered."),
            V("Tomato Basil Sauce", "vegan gluten-free", note="Sweet tomatoes with fresh basil."),
            V("Arrabbiata Sauce", "vegan gluten-free spicy", note="A fiery tomato sauce with crushed red chillies."),
            V("Roasted Garlic Sauce", "vegan gluten-free", note="Tomato sauce with slow-roasted garlic."),
            V("Vodka Sauce", "vegetarian", note="Creamy tomato sauce with a splash of vodka."),
            V("Alfredo Sauce", note="Creamy parmesan and butter sauce."),
            V("Basil Pesto", note="Genovese-style pesto with basil, pine nuts and parmesan.", sizes=[("190 g", 4.49)]),
        ],
        ["Nonna Lucia", "Casa Rustica", GB],
        [("680 ml", 3.99)],
        uses=("Toss with hot pasta.", "Heat and serve over pasta, or use it as a pizza sauce."),
        cycle=(12, 24),
        keep=9,
        popularity=2.0,
    ),
    K(
        "rice",
        "Pantry > Rice & Grains",
        [
            V("Basmati Rice", "gluten-free", note="Aged long-grain basmati, fragrant and fluffy."),
            V("Jasmine Rice", "gluten-free", note="Soft, fragrant Thai jasmine rice."),
            V("Long Grain Brown Rice", "gluten-free whole-grain", note="Whole-grain rice with a nutty chew."),
            V("Arborio Rice", "gluten-free", note="Short-grain rice for creamy risotto."),
            V("Sushi Rice", "gluten-free", note="Sticky short-grain rice for sushi and rice bowls."),
            V("White Quinoa", "gluten-free high-protein", note="A complete protein that cooks in 15 minutes."),
            V("Couscous", note="Pearl-size durum wheat couscous, ready in 5 minutes."),
            V("Pearl Barley", "whole-grain", note="Chewy barley for soups and stews."),
        ],
        ["Harvest Table", GB],
        [("900 g", 3.49), ("2 kg", 6.99, "family-size")],
        tags="vegan dairy-free nut-free",
        uses=("A base for curries, stir-fries and bowls.",),
        cycle=(21, 40),
        gluten=True,
        keep=9,
        popularity=1.8,
    ),
    K(
        "oats",
        "Breakfast > Oatmeal",
        [
            V("Old-Fashioned Rolled Oats", "whole-grain", note="Thick rolled whole-grain oats."),
            V("Quick Oats", "whole-grain", note="Cut smaller for porridge in three minutes."),
            V("Steel-Cut Oats", "whole-grain", note="Chewy, nutty Irish-style oats."),
            V(
                "Gluten-Free Rolled Oats",
                "gluten-free whole-grain",
                note="Grown and milled apart from wheat, tested gluten-free.",
            ),
        ],
        ["Sunrise Mills", GB],
        [("1 kg", 3.99)],
        tags="vegan dairy-free nut-free",
        uses=("Make porridge, overnight oats or oat cookies.",),
        cycle=(14, 28),
        gluten=True,
        keep=4,
        popularity=1.5,
    ),
    K(
        "instant-oatmeal",
        "Breakfast > Oatmeal",
        [
            V("Maple & Brown Sugar Instant Oatmeal", "vegan"),
            V("Apple Cinnamon Instant Oatmeal", "vegan"),
            V("Original Instant Oatmeal", "vegan low-sugar"),
        ],
        ["Sunrise Mills"],
        [("8 ct", 3.79)],
        tags="whole-grain dairy-free",
        notes=("Single-serve packets of whole-grain oatmeal, ready in 90 seconds.",),
        uses=("Just add hot water or milk.",),
        cycle=(10, 20),
        gluten=True,
    ),
    K(
        "canned-beans",
        "Pantry > Canned Goods",
        [
            V("Chickpeas"),
            V("Black Beans"),
            V("Red Kidney Beans"),
            V("Brown Lentils"),
            V("Cannellini Beans"),
            V("Refried Beans", note="Creamy refried pinto beans, vegetarian style."),
        ],
        ["Harvest Table", GB],
        [("540 ml", 1.29)],
        tags=FOOD_BASICS + " high-protein",
        notes=("Cooked, ready to use and low in sodium.", "Tender beans packed in lightly salted water."),
        uses=("Rinse and add to salads, soups and chili.",),
        cycle=(14, 30),
        keep=6,
    ),
    K(
        "canned-tomatoes",
        "Pantry > Canned Goods",
        [
            V("Diced Tomatoes", note="Diced plum tomatoes in juice."),
            V("Crushed Tomatoes", note="Thick crushed tomatoes for sauces."),
            V("Whole Peeled Tomatoes", note="Italian plum tomatoes, peeled whole."),
            V("Tomato Paste", note="Double-concentrated tomato paste.", sizes=[("156 ml", 0.99)]),
            V("Pumpkin Purée", season="fall", note="100% pure pumpkin, nothing added.", brands=["Harvest Table"]),
        ],
        ["Harvest Table", "Casa Rustica", GB],
        [("796 ml", 1.79)],
        tags=FOOD_BASICS,
        uses=("The start of a good sauce, soup or stew.",),
        cycle=(14, 30),
        keep=5,
    ),
    K(
        "canned-fish",
        "Pantry > Canned Goods",
        [
            V("Chunk Light Tuna in Water", note="Skipjack tuna, pole-and-line caught."),
            V("Solid White Albacore Tuna", note="Firm white albacore in water."),
            V("Wild Pink Salmon", note="Wild-caught pink salmon, boneless and skinless."),
            V("Sardines in Olive Oil", note="Whole sardines packed in extra virgin olive oil."),
        ],
        ["Bluewater Seafood", GB],
        [("170 g", 1.99)],
        tags="gluten-free dairy-free high-protein",
        uses=("Ready for sandwiches, salads and pasta.",),
        cycle=(14, 28),
        keep=4,
    ),
    K(
        "soup",
        "Pantry > Soup",
        [
            V("Chicken Noodle Soup", note="Chunks of chicken and egg noodles in a savoury broth."),
            V("Tomato Soup", "vegetarian", note="Smooth tomato soup with a touch of cream."),
            V("Minestrone Soup", "vegan", note="A hearty soup of vegetables, beans and pasta."),
            V("Lentil Soup", "vegan gluten-free", note="Thick red lentil soup with cumin."),
            V(
                "Butternut Squash Soup",
                "vegan gluten-free",
                note="Velvety squash soup with a hint of ginger.",
                sizes=[("900 ml", 3.99)],
            ),
            V("Cream of Mushroom Soup", "vegetarian", note="Condensed mushroom soup; also a casserole base."),
            V(
                "Vegetable Broth",
                "vegan gluten-free",
                note="Low-sodium broth of carrot, celery and onion.",
                sizes=[("900 ml", 2.99)],
            ),
            V("Chicken Broth", "gluten-free", note="Slow-simmered low-sodium chicken broth.", sizes=[("900 ml", 2.99)]),
        ],
        ["Harvest Table", GB],
        [("540 ml", 2.29)],
        uses=("Heat and eat in five minutes.",),
        keep=8,
        popularity=1.2,
        gluten=True,
    ),
    K(
        "coconut-milk",
        "Pantry > Canned Goods",
        [
            V("Coconut Milk", note="Full-fat coconut milk for curries."),
            V("Light Coconut Milk", note="Coconut milk with 60% less fat."),
        ],
        ["Cocobay", GB],
        [("400 ml", 1.99)],
        tags=FOOD_BASICS,
        uses=("Made for curries, soups and desserts.",),
        keep=2,
    ),
    K(
        "flour",
        "Pantry > Baking",
        [
            V("All-Purpose Flour", "vegan", note="Unbleached all-purpose wheat flour."),
            V("Whole Wheat Flour", "vegan whole-grain", note="Stone-ground whole wheat flour."),
            V("Bread Flour", "vegan", note="High-protein flour for chewy breads and pizza dough."),
            V(
                "Almond Flour",
                "vegan gluten-free keto",
                note="Finely ground blanched almonds.",
                sizes=[("454 g", 9.99)],
            ),
            V(
                "Gluten-Free Flour Blend",
                "vegan gluten-free nut-free",
                note="Rice, sorghum and tapioca flour, 1-to-1 for wheat flour.",
            ),
        ],
        ["Sunrise Mills", GB],
        [("2.5 kg", 4.99)],
        tags="dairy-free",
        uses=("For cakes, cookies and bread.",),
        gluten=True,
        keep=5,
    ),
    K(
        "baking",
        "Pantry > Baking",
        [
            V("Granulated Sugar", note="Pure cane sugar.", sizes=[("2 kg", 3.29)]),
            V("Brown Sugar", note="Soft golden brown sugar.", sizes=[("1 kg", 2.99)]),
            V("Icing Sugar", note="Powdered sugar for frostings.", sizes=[("1 kg", 2.99)]),
            V("Baking Soda", note="Pure sodium bicarbonate.", sizes=[("500 g", 1.49)]),
            V("Baking Powder", note="Double-acting baking powder.", sizes=[("225 g", 2.99)]),
            V("Pure Vanilla Extract", note="Bourbon vanilla, cold-extracted.", sizes=[("59 ml", 7.99)]),
            V("Semi-Sweet Chocolate Chips", "vegetarian", note="Chips made with 45% cocoa.", sizes=[("300 g", 3.99)]),
            V("Active Dry Yeast", note="Three pre-measured envelopes.", sizes=[("3 x 8 g", 2.49)]),
        ],
        [GB],
        tags="vegan gluten-free",
        uses=("A baking cupboard basic.",),
    ),
    K(
        "oil",
        "Pantry > Oils & Vinegars",
        [
            V(
                "Extra Virgin Olive Oil",
                note="Cold-pressed with a peppery finish.",
                sizes=[("500 ml", 8.99), ("1 L", 15.99)],
            ),
            V("Canola Oil", note="A neutral oil for frying and baking.", sizes=[("1 L", 4.49)]),
            V("Avocado Oil", note="High smoke point, buttery taste.", sizes=[("500 ml", 9.99)]),
            V("Toasted Sesame Oil", note="Deep, nutty flavour for finishing dishes.", sizes=[("250 ml", 4.99)]),
            V("Virgin Coconut Oil", note="Unrefined coconut oil with a light coconut aroma.", sizes=[("500 ml", 7.99)]),
            V("Balsamic Vinegar", note="Aged balsamic vinegar of Modena.", sizes=[("500 ml", 5.99)]),
            V("Apple Cider Vinegar", note="Raw, unfiltered, with the mother.", sizes=[("946 ml", 4.29)]),
            V("Red Wine Vinegar", note="Sharp and fruity red wine vinegar.", sizes=[("500 ml", 3.49)]),
        ],
        ["Bellaterra", GB],
        tags=FOOD_BASICS,
        uses=("For cooking, dressings and marinades.",),
        cycle=(30, 60),
        keep=8,
    ),
    K(
        "condiments",
        "Pantry > Condiments",
        [
            V(
                "Tomato Ketchup",
                "vegan gluten-free",
                note="Thick ketchup made with ripe tomatoes.",
                sizes=[("750 ml", 3.49)],
            ),
            V("Yellow Mustard", "vegan gluten-free", note="Classic ballpark mustard.", sizes=[("400 ml", 1.99)]),
            V("Dijon Mustard", "vegan gluten-free", note="Smooth, sharp Dijon.", sizes=[("325 ml", 3.29)]),
            V(
                "Mayonnaise",
                "vegetarian gluten-free",
                note="Creamy mayo made with free-range eggs.",
                sizes=[("890 ml", 5.49)],
            ),
            V("Vegan Mayo", "vegan gluten-free", note="Egg-free mayo made with aquafaba.", sizes=[("355 ml", 4.99)]),
            V("Hot Sauce", "vegan gluten-free spicy", note="Aged cayenne pepper sauce.", sizes=[("150 ml", 3.29)]),
            V(
                "Chili Garlic Sauce",
                "vegan gluten-free spicy",
                note="Coarse chili paste with plenty of garlic.",
                sizes=[("250 ml", 3.79)],
            ),
            V(
                "Low Sodium Soy Sauce",
                "vegan",
                note="Naturally brewed soy sauce with 40% less sodium.",
                sizes=[("500 ml", 3.99)],
            ),
            V(
                "Tamari Soy Sauce",
                "vegan gluten-free",
                note="Wheat-free, naturally brewed tamari.",
                sizes=[("296 ml", 4.99)],
            ),
            V("Hickory BBQ Sauce", "vegan gluten-free", note="Smoky, sweet and tangy.", sizes=[("455 ml", 3.49)]),
            V(
                "Sweet Pickle Relish",
                "vegan gluten-free",
                note="Sweet and tangy relish for hot dogs.",
                sizes=[("375 ml", 2.79)],
            ),
        ],
        ["Harvest Table", GB],
        tags="dairy-free",
        uses=("A fridge-door essential.",),
        cycle=(30, 60),
        keep=11,
        gluten=True,
    ),
    K(
        "spreads",
        "Pantry > Spreads & Honey",
        [
            V(
                "Creamy Peanut Butter",
                "vegan gluten-free",
                note="Just roasted peanuts and a pinch of salt.",
                sizes=[("500 g", 3.99), ("1 kg", 6.99, "family-size")],
                brands=["Harvest Table", GB],
            ),
            V(
                "Crunchy Peanut Butter",
                "vegan gluten-free",
                note="Roasted peanuts with crunchy pieces.",
                sizes=[("500 g", 3.99)],
                brands=["Harvest Table", GB],
            ),
            V(
                "Natural Almond Butter",
                "vegan gluten-free keto",
                note="Dry-roasted almonds, nothing else.",
                sizes=[("365 g", 8.99)],
                brands=["Trailhead"],
            ),
            V(
                "Sunflower Seed Butter",
                "vegan gluten-free nut-free",
                note="A peanut-free spread made in a nut-free facility, safe for school lunches.",
                sizes=[("500 g", 5.99)],
                brands=["Trailhead"],
            ),
            V(
                "Strawberry Jam",
                "vegan gluten-free",
                note="Made with whole strawberries.",
                sizes=[("500 ml", 3.99)],
                brands=["Harvest Table", GB],
            ),
            V(
                "Raspberry Jam",
                "vegan gluten-free",
                note="Seedy raspberry jam, bright and tart.",
                sizes=[("500 ml", 3.99)],
                brands=["Harvest Table"],
            ),
            V(
                "Chocolate Hazelnut Spread",
                "vegetarian gluten-free",
                note="Roasted hazelnuts and cocoa, without palm oil.",
                sizes=[("400 g", 4.99)],
                brands=["Golden Hive"],
            ),
            V(
                "Liquid Honey",
                "vegetarian gluten-free",
                note="Clover honey, raw and unpasteurised.",
                sizes=[("500 g", 6.99)],
                brands=["Golden Hive"],
            ),
            V(
                "100% Pure Maple Syrup",
                "vegan gluten-free",
                note="Grade A amber maple syrup.",
                sizes=[("540 ml", 12.99)],
                brands=["Maple Hollow"],
            ),
        ],
        [],
        tags="dairy-free",
        uses=("Spread it on toast or swirl it into oatmeal.",),
        cycle=(20, 40),
        popularity=1.5,
        keep=10,
    ),
    K(
        "salsa",
        "Pantry > Salsa & Dips",
        [
            V("Mild Chunky Salsa", note="Chunky tomatoes, onions and green peppers with a gentle kick."),
            V("Medium Chunky Salsa", note="Medium heat with jalapeños and cilantro."),
            V("Hot Chunky Salsa", "spicy", note="Loaded with jalapeños and chipotle for real heat."),
            V("Salsa Verde", note="Tangy roasted tomatillo salsa."),
        ],
        ["Sierra Roja", GB],
        [("430 ml", 3.49)],
        tags=FOOD_BASICS,
        uses=("Serve with tortilla chips or spoon onto tacos.",),
        cycle=(14, 28),
        keep=4,
    ),
    K(
        "spices",
        "Pantry > Spices",
        [
            V("Fine Sea Salt", sizes=[("750 g", 2.49)]),
            V("Ground Black Pepper", sizes=[("100 g", 4.49)]),
            V("Ground Cinnamon", sizes=[("60 g", 3.49)]),
            V("Smoked Paprika", sizes=[("60 g", 3.99)]),
            V("Ground Cumin", sizes=[("60 g", 3.49)]),
            V("Red Chili Flakes", "spicy", sizes=[("50 g", 2.99)]),
            V("Garlic Powder", sizes=[("80 g", 3.29)]),
            V("Italian Seasoning", sizes=[("30 g", 3.29)]),
            V("Ground Turmeric", sizes=[("60 g", 3.49)]),
            V("Pumpkin Pie Spice", season="fall", note="Cinnamon, ginger, nutmeg and clove.", sizes=[("40 g", 3.99)]),
        ],
        ["Spice Route"],
        tags=FOOD_BASICS,
        notes=("Packed in a glass jar with a shaker top.", "Ground in small lots for full aroma."),
        uses=("Season as you cook.",),
    ),
    # ---- Breakfast
    K(
        "cereal",
        "Breakfast > Cereal",
        [
            V("Corn Flakes", "vegan", note="Crisp, golden toasted corn flakes."),
            V("Honey Oat Clusters", "vegetarian", note="Crunchy flakes with honey-roasted oat clusters."),
            V("Bran Flakes", "vegan whole-grain", note="Whole wheat and bran flakes, a good source of fibre."),
            V("Chocolate Puffs", "vegetarian", note="Crunchy cocoa puffs that turn the milk chocolatey."),
            V("Toasted Oat Rings", "vegan whole-grain low-sugar", note="Whole-grain oat rings with only 1 g of sugar."),
            V("Cinnamon Crunch Squares", "vegetarian", note="Crispy squares coated in cinnamon sugar."),
            V("Gluten-Free Rice Crisps", "vegan gluten-free", note="Toasted rice crisps, certified gluten-free."),
            V(
                "Protein Crunch Cereal",
                "vegetarian high-protein low-sugar",
                note="15 g of protein per bowl from soy and pea crisps.",
            ),
        ],
        ["Sunrise Mills", "Crunchwell", GB],
        [("375 g", 3.99), ("750 g", 6.49, "family-size")],
        uses=("Pour milk, add fruit, breakfast done.", "Good as a dry snack too."),
        cycle=(10, 18),
        gluten=True,
        keep=12,
        popularity=3.0,
    ),
    K(
        "granola",
        "Breakfast > Granola & Muesli",
        [
            V("Maple Almond Granola", "vegan", note="Clusters of oats and almonds baked with maple syrup."),
            V("Berry Crunch Granola", "vegetarian", note="Honey granola with dried cranberries and blueberries."),
            V(
                "Keto Nut Granola",
                "vegan gluten-free keto low-sugar",
                note="A grain-free mix of nuts and seeds with 2 g of sugar.",
            ),
            V("Gluten-Free Honey Granola", "vegetarian gluten-free", note="Gluten-free oats baked with honey."),
            V("Swiss-Style Muesli", "vegan", note="Raw oats, dried fruit and seeds; unsweetened."),
        ],
        ["Maple Hollow", "Trailhead"],
        [("500 g", 5.49)],
        uses=("Serve with yogurt or milk.",),
        cycle=(12, 24),
        gluten=True,
        keep=5,
    ),
    K(
        "pancake-mix",
        "Breakfast > Pancakes & Syrup",
        [
            V("Buttermilk Pancake Mix", "vegetarian", note="Just add water for fluffy buttermilk pancakes."),
            V("Gluten-Free Pancake Mix", "vegetarian gluten-free", note="Light, fluffy gluten-free pancakes."),
            V("Protein Pancake Mix", "vegetarian high-protein", note="20 g of protein per serving."),
        ],
        ["Maple Hollow"],
        [("700 g", 4.49)],
        uses=("Makes waffles too.",),
        gluten=True,
    ),
    # ---- Produce
    K(
        "fruit",
        "Produce > Fruit",
        [
            V(
                "Bananas",
                note="A bunch of five to seven ripe bananas.",
                sizes=[("1 bunch", 1.79)],
                brands=["Sunfield Farms"],
            ),
            V(
                "Organic Fair Trade Bananas",
                "organic fair-trade",
                note="Organic bananas from Fair Trade cooperatives.",
                sizes=[("1 bunch", 2.49)],
                brands=["Orchard Hill"],
            ),
            V(
                "Gala Apples",
                note="Sweet, crisp and great for lunchboxes.",
                sizes=[("1.36 kg bag", 4.99)],
                brands=["Sunfield Farms"],
            ),
            V(
                "Honeycrisp Apples",
                note="Explosively crisp and juicy.",
                sizes=[("1 kg bag", 5.49)],
                brands=["Sunfield Farms"],
            ),
            V(
                "Granny Smith Apples",
                note="Tart green apples for pies and snacking.",
                sizes=[("1.36 kg bag", 4.99)],
                brands=["Orchard Hill"],
            ),
            V("Organic Gala Apples", "organic", sizes=[("1.36 kg bag", 6.49)], brands=["Wild Acre Organics"]),
            V(
                "Navel Oranges",
                note="Seedless, easy-peel navel oranges.",
                sizes=[("1.81 kg bag", 5.99)],
                brands=["Orchard Hill"],
            ),
            V(
                "Clementines",
                note="Sweet, seedless mandarins that kids love.",
                sizes=[("1.36 kg box", 5.49)],
                brands=["Orchard Hill"],
            ),
            V("Lemons", sizes=[("4 ct", 2.99)], brands=["Orchard Hill"]),
            V("Limes", sizes=[("5 ct", 2.49)], brands=["Orchard Hill"]),
            V(
                "Hass Avocados",
                note="Ripen on the counter in two to four days.",
                sizes=[("4 ct", 4.99)],
                brands=["Orchard Hill"],
            ),
            V(
                "Strawberries",
                note="Sweet, red-to-the-core strawberries.",
                sizes=[("454 g", 4.49)],
                brands=["Sunfield Farms"],
            ),
            V("Blueberries", sizes=[("170 g", 3.99), ("510 g", 8.99)], brands=["Sunfield Farms"]),
            V("Raspberries", sizes=[("170 g", 4.49)], brands=["Sunfield Farms"]),
            V("Red Seedless Grapes", sizes=[("1 kg", 5.99)], brands=["Orchard Hill"]),
            V(
                "Ataulfo Mangoes",
                note="Buttery, fibreless honey mangoes.",
                sizes=[("2 ct", 3.49)],
                brands=["Orchard Hill"],
            ),
            V("Bartlett Pears", sizes=[("1 kg", 3.99)], brands=["Sunfield Farms"]),
            V("Pineapple", note="Golden, extra-sweet pineapple.", sizes=[("1 ct", 3.99)], brands=["Orchard Hill"]),
            V(
                "Seedless Watermelon",
                season="summer",
                note="A summer favourite, sweet and crunchy.",
                sizes=[("1 ct", 6.99)],
                brands=["Sunfield Farms"],
            ),
        ],
        [],
        tags=FOOD_BASICS,
        notes=("Picked ripe and delivered fresh.",),
        uses=("Eat it fresh, blend it or bake with it.", "A healthy snack for home, school or work."),
        cycle=(5, 10),
        popularity=5.0,
    ),
    K(
        "vegetables",
        "Produce > Vegetables",
        [
            V("Carrots", sizes=[("1 kg bag", 1.99)]),
            V("Organic Carrots", "organic", sizes=[("907 g bag", 2.99)], brands=["Wild Acre Organics"]),
            V("Broccoli Crowns", sizes=[("2 ct", 2.99)]),
            V("Baby Spinach", note="Triple-washed and ready to eat.", sizes=[("142 g", 3.49)]),
            V(
                "Organic Baby Spinach",
                "organic",
                note="Triple-washed organic spinach.",
                sizes=[("142 g", 4.49)],
                brands=["Wild Acre Organics"],
            ),
            V("Spring Mix Salad", note="Tender baby lettuces, washed.", sizes=[("142 g", 3.99)]),
            V("Romaine Hearts", sizes=[("3 ct", 3.99)]),
            V("Yellow Onions", sizes=[("1.36 kg bag", 2.49)]),
            V("Red Onions", sizes=[("1 kg bag", 2.49)]),
            V("Garlic", sizes=[("3 ct", 1.49)]),
            V("Russet Potatoes", note="Fluffy inside, perfect for baking and fries.", sizes=[("2.27 kg bag", 4.49)]),
            V("Yukon Gold Potatoes", note="Buttery yellow flesh, great mashed.", sizes=[("1.36 kg bag", 3.99)]),
            V("Sweet Potatoes", sizes=[("1 kg", 2.99)]),
            V("Tomatoes on the Vine", sizes=[("680 g", 3.99)]),
            V("Cherry Tomatoes", note="Sweet snacking tomatoes.", sizes=[("283 g", 2.99)]),
            V("English Cucumber", note="Long, seedless and thin-skinned.", sizes=[("1 ct", 1.49)]),
            V("Red Bell Peppers", sizes=[("3 ct", 4.49)]),
            V("Cremini Mushrooms", sizes=[("227 g", 2.99)]),
            V("Zucchini", sizes=[("2 ct", 2.49)]),
            V("Kale", sizes=[("1 bunch", 2.99)]),
            V("Celery", sizes=[("1 bunch", 2.49)]),
            V("Cauliflower", sizes=[("1 ct", 3.99)]),
            V("Fresh Basil", sizes=[("28 g", 2.49)]),
            V("Cilantro", sizes=[("1 bunch", 1.29)]),
            V("Ginger Root", sizes=[("200 g", 1.99)]),
            V(
                "Sweet Corn on the Cob",
                season="summer",
                note="Bi-colour sweet corn, picked the day before.",
                sizes=[("4 ct", 3.99)],
            ),
            V("Pie Pumpkin", season="fall", note="Small sweet pumpkins for pies and roasting.", sizes=[("1 ct", 3.49)]),
        ],
        ["Sunfield Farms"],
        tags=FOOD_BASICS,
        notes=("Fresh from the farm to our cold room.", "Harvested this week."),
        uses=("Roast it, toss it in a salad or add it to a stir-fry.", "An everyday kitchen vegetable."),
        cycle=(6, 12),
        popularity=5.0,
    ),
    # ---- Meat & Seafood, Deli
    K(
        "chicken",
        "Meat & Seafood > Chicken",
        [
            V("Boneless Skinless Chicken Breasts", sizes=[("1 kg", 13.99)]),
            V("Boneless Chicken Thighs", sizes=[("1 kg", 11.99)]),
            V("Chicken Drumsticks", sizes=[("1.2 kg", 8.99)]),
            V("Whole Chicken", sizes=[("1.8 kg", 12.99)]),
            V("Ground Chicken", sizes=[("454 g", 6.49)]),
        ],
        ["Prairie Range", "Crescent Halal", "Cedar Valley"],
        tags="gluten-free dairy-free high-protein",
        notes=("Air-chilled, never pumped with water.", "Raised without antibiotics."),
        uses=("Roast, grill or braise.", "Weeknight dinners sorted."),
        cycle=(7, 14),
        keep=7,
        popularity=2.5,
    ),
    K(
        "beef",
        "Meat & Seafood > Beef",
        [
            V("Lean Ground Beef 85/15", note="85% lean for juicy burgers.", sizes=[("454 g", 6.99)]),
            V("Extra Lean Ground Beef 93/7", note="93% lean for sauces and tacos.", sizes=[("454 g", 7.99)]),
            V("Striploin Steaks", note="Aged 21 days, two steaks per pack.", sizes=[("2 ct", 18.99)]),
            V("Stewing Beef", note="Chunks of chuck for slow cooking.", sizes=[("680 g", 10.99)]),
        ],
        ["Prairie Range", "Crescent Halal"],
        tags="gluten-free dairy-free high-protein",
        uses=("For burgers, chili and stews.",),
        cycle=(10, 20),
        keep=5,
        popularity=1.8,
    ),
    K(
        "pork",
        "Meat & Seafood > Pork & Sausages",
        [
            V("Thick-Cut Bacon", note="Applewood-smoked and cut thick.", sizes=[("375 g", 6.99)]),
            V("Pork Loin Chops", note="Boneless, centre-cut chops.", sizes=[("600 g", 8.49)]),
            V("Mild Italian Sausages", note="Seasoned with fennel and garlic.", sizes=[("500 g", 6.49)]),
            V("Pork Back Ribs", note="Meaty back ribs for slow smoking.", sizes=[("1 kg", 11.99)]),
        ],
        ["Prairie Range", "Heritage Butcher"],
        tags="dairy-free high-protein",
        uses=("For weekend brunch or the grill.",),
        cycle=(10, 21),
        keep=4,
    ),
    K(
        "hot-dogs",
        "Meat & Seafood > Pork & Sausages",
        [
            V("All-Beef Hot Dogs", note="Skinless all-beef franks, smoked over hardwood."),
            V("Chicken Hot Dogs", note="Lighter franks made with chicken."),
        ],
        ["Prairie Range", "Crescent Halal"],
        [("12 ct", 5.99)],
        tags="gluten-free dairy-free",
        uses=("Grill them and load up the buns.",),
        keep=2,
    ),
    K(
        "turkey",
        "Meat & Seafood > Turkey",
        [
            V(
                "Whole Young Turkey",
                note="A frozen young turkey, 5 to 7 kg; thaw in the fridge for 3 days.",
                sizes=[("per bird (5-7 kg)", 34.99)],
            ),
            V(
                "Turkey Breast Roast",
                note="Boneless turkey breast, tied and ready to roast.",
                sizes=[("1.2 kg", 19.99)],
            ),
        ],
        ["Prairie Range", "Crescent Halal"],
        tags="gluten-free dairy-free high-protein seasonal",
        uses=("The centrepiece of a Thanksgiving table.",),
        season="thanksgiving",
        keep=3,
    ),
    K(
        "seafood",
        "Meat & Seafood > Seafood",
        [
            V("Atlantic Salmon Fillets", note="Skin-on fillets, boned by hand.", sizes=[("454 g", 12.99)]),
            V("Wild Sockeye Salmon Fillets", note="Deep red wild sockeye from Alaska.", sizes=[("454 g", 16.99)]),
            V("Cod Fillets", note="Mild, flaky white fish.", sizes=[("454 g", 11.49)]),
            V("Raw Shrimp 31-40", note="Peeled and deveined, 31 to 40 per pound, frozen.", sizes=[("454 g", 10.99)]),
            V("Tilapia Fillets", note="Mild, boneless fillets, frozen individually.", sizes=[("680 g", 9.99)]),
        ],
        ["Bluewater Seafood"],
        tags="gluten-free dairy-free high-protein",
        uses=("Bake, pan-sear or grill in minutes.",),
        cycle=(10, 21),
    ),
    K(
        "deli",
        "Deli > Sliced Meats",
        [
            V("Oven-Roasted Turkey Breast", note="Thin-sliced, lower in sodium."),
            V("Black Forest Ham", note="Smoked ham with a dark, sweet rind.", brands=["Heritage Butcher"]),
            V("Genoa Salami", note="Dry-cured pork salami with garlic and white wine.", brands=["Heritage Butcher"]),
            V("Roast Beef", note="Slow-roasted top round, sliced thin."),
        ],
        ["Heritage Butcher", "Cedar Valley"],
        [("175 g", 4.99)],
        tags="gluten-free dairy-free high-protein",
        uses=("Sandwiches and lunchboxes.",),
        cycle=(7, 14),
        keep=4,
    ),
    K(
        "dips",
        "Deli > Dips & Spreads",
        [
            V("Classic Hummus", "vegan dairy-free", note="Chickpeas, tahini, lemon and garlic."),
            V("Roasted Red Pepper Hummus", "vegan dairy-free", note="Hummus blended with fire-roasted red peppers."),
            V("Garlic Lovers Hummus", "vegan dairy-free", note="Extra garlic, extra creamy."),
            V("Guacamole", "vegan dairy-free", note="Hass avocados, lime, onion and cilantro."),
            V("Tzatziki", "vegetarian", note="Greek yogurt, cucumber and dill."),
            V("French Onion Dip", "vegetarian", note="Caramelised onion sour-cream dip for potato chips."),
        ],
        ["Olive & Thyme", GB],
        [("283 g", 3.99)],
        tags="gluten-free",
        uses=("Serve with pita, chips or crunchy veg.",),
        cycle=(10, 20),
        keep=6,
        popularity=1.5,
    ),
    # ---- Frozen
    K(
        "frozen-veg",
        "Frozen > Vegetables",
        [
            V("Green Peas"),
            V("Mixed Vegetables"),
            V("Stir-Fry Vegetables"),
            V("Broccoli Florets"),
            V("Shelled Edamame", "high-protein"),
            V("Riced Cauliflower", "keto"),
            V("Sweet Corn Kernels"),
        ],
        ["Polar Pantry", GB],
        [("750 g", 2.99)],
        tags=FOOD_BASICS,
        notes=(
            "Frozen within hours of harvest to lock in nutrients.",
            "Individually quick-frozen, so you can pour out just what you need.",
        ),
        uses=("Steam, microwave or toss straight into a stir-fry.",),
        cycle=(14, 28),
        keep=7,
        popularity=1.5,
    ),
    K(
        "frozen-fruit",
        "Frozen > Fruit",
        [
            V("Mixed Berries"),
            V("Wild Blueberries"),
            V("Mango Chunks"),
            V("Frozen Strawberries"),
        ],
        ["Polar Pantry"],
        [("600 g", 4.99)],
        tags=FOOD_BASICS,
        notes=("Frozen at peak ripeness, no added sugar.",),
        uses=("Blend into smoothies or bake into muffins.",),
        cycle=(14, 28),
    ),
    K(
        "frozen-pizza",
        "Frozen > Pizza",
        [
            V("Margherita Pizza", "vegetarian", note="Tomato, mozzarella and basil on a stone-baked crust."),
            V("Pepperoni Pizza", note="Loaded with crispy cupping pepperoni."),
            V("Four Cheese Pizza", "vegetarian", note="Mozzarella, provolone, parmesan and asiago."),
            V("Vegan Veggie Pizza", "vegan dairy-free", note="Roasted vegetables and dairy-free mozzarella."),
            V(
                "Gluten-Free Margherita Pizza",
                "vegetarian gluten-free",
                note="A crisp rice-flour crust with tomato and mozzarella.",
            ),
        ],
        ["Frostline", GB],
        [("400 g", 6.99)],
        uses=("Bakes in 12 to 15 minutes.",),
        gluten=True,
        keep=5,
    ),
    K(
        "ice-cream",
        "Frozen > Ice Cream",
        [
            V("Vanilla Bean Ice Cream", "vegetarian gluten-free", note="Made with real Madagascar vanilla bean."),
            V("Double Chocolate Ice Cream", "vegetarian", note="Chocolate ice cream with chocolate chunks."),
            V("Cookie Dough Ice Cream", "vegetarian", note="Vanilla with big pieces of cookie dough."),
            V("Salted Caramel Ice Cream", "vegetarian gluten-free", note="Buttery caramel swirl with sea salt."),
            V("Mint Chocolate Chip Ice Cream", "vegetarian gluten-free", note="Cool mint with dark chocolate flakes."),
            V("Dairy-Free Chocolate Frozen Dessert", "vegan dairy-free", note="Oat-based chocolate frozen dessert."),
            V("Strawberry Ice Cream", "vegetarian gluten-free", note="Made with real strawberries."),
        ],
        ["Scoop & Co.", GB],
        [("500 ml", 4.49), ("1.5 L", 6.99, "family-size")],
        uses=("Scoop it into cones, bowls or between two cookies.",),
        gluten=True,
        keep=8,
        popularity=1.5,
    ),
    K(
        "frozen-meals",
        "Frozen > Meals",
        [
            V("Beef Lasagna", note="Layers of pasta, beef ragù and mozzarella.", sizes=[("1 kg", 9.99)]),
            V(
                "Chicken Tikka Masala with Rice",
                "gluten-free",
                note="Tender chicken in a mild, creamy curry.",
                sizes=[("350 g", 5.49)],
            ),
            V(
                "Bean & Cheese Burritos",
                "vegetarian",
                note="Pinto beans and cheddar in soft flour tortillas.",
                sizes=[("4 ct", 5.99)],
            ),
            V(
                "Vegetable Dumplings",
                "vegan",
                note="Pan-fry or steam; with cabbage, carrot and shiitake.",
                sizes=[("600 g", 6.99)],
            ),
            V(
                "Macaroni and Cheese",
                "vegetarian",
                note="Elbow pasta in a three-cheese sauce.",
                sizes=[("300 g", 3.99)],
            ),
            V("Chicken Pot Pie", note="Chicken and vegetables under a flaky crust.", sizes=[("450 g", 5.99)]),
        ],
        ["Frostline"],
        uses=("Straight from the freezer to the oven or microwave.",),
        gluten=True,
    ),
    K(
        "frozen-breakfast",
        "Frozen > Breakfast",
        [
            V("Homestyle Waffles", "vegetarian"),
            V("Blueberry Waffles", "vegetarian"),
            V("Gluten-Free Waffles", "vegetarian gluten-free"),
        ],
        ["Frostline", GB],
        [("8 ct", 3.49)],
        notes=("Toaster-ready in three minutes.",),
        uses=("Top with maple syrup and berries.",),
        gluten=True,
        keep=3,
    ),
    K(
        "frozen-potato",
        "Frozen > Potatoes",
        [
            V("Crinkle-Cut Fries", note="Crispy outside, fluffy inside."),
            V("Sweet Potato Fries", note="Lightly seasoned sweet potato fries."),
            V("Hash Brown Patties", note="Shredded potato patties for breakfast."),
        ],
        ["Polar Pantry"],
        [("1 kg", 3.99)],
        tags=FOOD_BASICS,
        uses=("Bake or air-fry in 15 minutes.",),
    ),
    K(
        "fish-sticks",
        "Frozen > Seafood",
        [
            V("Breaded Fish Sticks", note="Wild Alaska pollock in a crunchy crumb."),
            V("Beer-Battered Cod", note="Cod fillets in a light, crisp batter."),
        ],
        ["Bluewater Seafood"],
        [("500 g", 6.49)],
        tags="dairy-free",
        uses=("Oven-bake in 18 minutes.",),
        gluten=True,
    ),
    # ---- Beverages
    K(
        "coffee",
        "Beverages > Coffee",
        [
            V("Medium Roast Ground Coffee", note="Balanced and smooth with notes of caramel."),
            V("Dark Roast Ground Coffee", note="Bold and smoky with a chocolate finish."),
            V("Decaf Ground Coffee", "decaf", note="Swiss Water decaffeinated, so it is 99.9% caffeine-free."),
            V("Espresso Whole Bean Coffee", note="A dark, syrupy espresso roast."),
            V("Breakfast Blend Whole Bean Coffee", note="A bright, light-medium roast."),
            V("Colombian Whole Bean Coffee", note="Single-origin Colombian beans with a nutty sweetness."),
            V(
                "Pumpkin Spice Ground Coffee",
                season="fall",
                note="Medium roast with cinnamon, nutmeg and pumpkin spice.",
            ),
        ],
        ["Ridgeback Roasters", "Morning Ritual", GB],
        [("340 g", 9.99), ("907 g", 21.99, "family-size")],
        tags="vegan",
        uses=("Brew it in a drip machine, French press or pour-over.",),
        cycle=(14, 24),
        keep=11,
        popularity=3.0,
    ),
    K(
        "coffee-pods",
        "Beverages > Coffee",
        [
            V("Medium Roast Coffee Pods"),
            V("Dark Roast Coffee Pods"),
            V("Decaf Coffee Pods", "decaf"),
            V("Hazelnut Coffee Pods"),
        ],
        ["Morning Ritual", GB],
        [("12 ct", 7.99), ("30 ct", 17.99)],
        tags="vegan",
        notes=("Single-serve pods that fit most pod brewers.", "Recyclable single-serve coffee pods."),
        cycle=(10, 18),
        keep=5,
        popularity=1.5,
    ),
    K(
        "other-coffee",
        "Beverages > Coffee",
        [
            V(
                "Cold Brew Concentrate",
                note="Steeped for 20 hours; mix one part with two parts water or milk.",
                sizes=[("946 ml", 8.99)],
                brands=["Ridgeback Roasters"],
            ),
            V(
                "Instant Coffee",
                note="Freeze-dried coffee that dissolves in seconds.",
                sizes=[("100 g", 6.49)],
                brands=["Morning Ritual"],
            ),
        ],
        [],
        tags="vegan",
        cycle=(14, 28),
    ),
    K(
        "tea",
        "Beverages > Tea",
        [
            V("Orange Pekoe Black Tea"),
            V("English Breakfast Tea"),
            V("Earl Grey Tea", note="Black tea with bergamot oil."),
            V("Green Tea", note="Delicate sencha-style green tea."),
            V("Chamomile Tea", "caffeine-free", note="Calming chamomile flowers for the evening."),
            V("Peppermint Tea", "caffeine-free", note="Pure peppermint leaves."),
            V("Chai Spice Tea", note="Black tea with cinnamon, cardamom and ginger."),
            V("Rooibos Tea", "caffeine-free", note="South African red bush tea, naturally sweet."),
        ],
        ["Copper Kettle Tea Co.", GB],
        [("20 ct", 3.99), ("72 ct", 8.99)],
        tags="vegan",
        notes=("Tea bags in individual paper envelopes.",),
        uses=("Steep for three to five minutes.",),
        cycle=(20, 40),
        keep=9,
        popularity=1.8,
    ),
    K(
        "cocoa",
        "Beverages > Hot Chocolate",
        [
            V(
                "Hot Cocoa Mix",
                "vegetarian",
                note="Rich hot chocolate mix; just add hot milk or water.",
                sizes=[("8 ct", 3.99)],
            ),
            V(
                "Peppermint Hot Cocoa Mix",
                "vegetarian",
                season="holiday",
                note="Hot cocoa with a cool peppermint finish.",
                sizes=[("8 ct", 4.49)],
            ),
        ],
        ["Cocoa Lane", "Holly & Hearth"],
        season="winter",
        keep=2,
    ),
    K(
        "sparkling-water",
        "Beverages > Water",
        [
            V("Original Sparkling Water"),
            V("Lime Sparkling Water"),
            V("Lemon Sparkling Water"),
            V("Grapefruit Sparkling Water"),
            V("Black Cherry Sparkling Water"),
        ],
        ["Fizzwell", GB],
        [("12 x 355 ml", 5.49), ("1 L", 1.49)],
        tags="vegan sugar-free",
        notes=(
            "Carbonated water with natural flavour, zero calories and zero sweeteners.",
            "Crisp, bubbly seltzer with no sugar or sodium.",
        ),
        uses=("A refreshing swap for soda.",),
        cycle=(7, 14),
        keep=7,
        popularity=2.0,
    ),
    K(
        "still-water",
        "Beverages > Water",
        [
            V("Natural Spring Water", note="Crisp spring water.", sizes=[("24 x 500 ml", 4.99), ("4 L", 2.49)]),
            V("Alkaline Water pH 9.5", note="Ionised water at pH 9.5+ with added electrolytes.", sizes=[("1 L", 2.29)]),
        ],
        ["Clearbrook Springs"],
        tags="vegan sugar-free",
        uses=("Keep a case in the car.",),
        cycle=(10, 20),
    ),
    K(
        "juice",
        "Beverages > Juice",
        [
            V("Orange Juice, No Pulp", note="Not-from-concentrate orange juice with no pulp."),
            V("Orange Juice, With Pulp", note="Freshly squeezed taste with lots of pulp."),
            V("Apple Juice", note="Pressed from a blend of Gala and McIntosh apples."),
            V("Cranberry Cocktail", note="Tart and sweet cranberry juice cocktail."),
            V("Ruby Red Grapefruit Juice", note="Tangy pink grapefruit juice."),
            V("Fresh Apple Cider", season="fall", note="Unfiltered, cloudy autumn cider, non-alcoholic."),
        ],
        ["Orchard Gold", GB],
        [("1.75 L", 4.49), ("2.63 L", 6.49, "family-size")],
        tags="vegan gluten-free",
        uses=("Serve chilled at breakfast.",),
        cycle=(7, 12),
        keep=7,
        popularity=1.8,
    ),
    K(
        "soda",
        "Beverages > Soft Drinks",
        [
            V("Cola"),
            V("Diet Cola", "sugar-free"),
            V("Ginger Ale", "caffeine-free"),
            V("Lemon-Lime Soda", "caffeine-free"),
            V("Root Beer", "caffeine-free"),
            V("Orange Soda", "caffeine-free"),
        ],
        ["Fizzwell", GB],
        [("12 x 355 ml", 6.99), ("2 L", 2.49)],
        tags="vegan",
        notes=("A classic fizzy soft drink.", "Sparkling soda pop, best ice cold."),
        uses=("Serve over ice.",),
        cycle=(7, 14),
        keep=7,
    ),
    K(
        "functional-drinks",
        "Beverages > Kombucha & Sports Drinks",
        [
            V(
                "Ginger Lemon Kombucha",
                "low-sugar",
                note="Raw, live kombucha with fresh ginger.",
                sizes=[("414 ml", 3.79)],
            ),
            V("Raspberry Kombucha", "low-sugar", note="Fermented tea with raspberry juice.", sizes=[("414 ml", 3.79)]),
            V("Pure Coconut Water", note="From young green coconuts, nothing added.", sizes=[("1 L", 4.49)]),
            V(
                "Lemon-Lime Electrolyte Drink",
                note="Electrolytes for rehydration after exercise.",
                sizes=[("6 x 591 ml", 6.99)],
            ),
            V(
                "Old-Fashioned Lemonade",
                season="summer",
                note="Made with real squeezed lemons.",
                sizes=[("1.75 L", 3.99)],
            ),
        ],
        ["Living Leaf"],
        tags="vegan gluten-free",
        uses=("Best served cold.",),
    ),
    # ---- Snacks
    K(
        "potato-chips",
        "Snacks > Chips",
        [
            V("Sea Salt Kettle Chips", "vegan dairy-free", note="Kettle-cooked for a hard, crunchy bite."),
            V("Salt & Vinegar Kettle Chips", "vegan dairy-free", note="Puckeringly tangy kettle chips."),
            V("BBQ Kettle Chips", "vegetarian", note="Sweet and smoky barbecue seasoning."),
            V("Sour Cream & Onion Chips", "vegetarian", note="Thin and crispy with sour cream and chives."),
            V("Original Ridged Chips", "vegan dairy-free", note="Ridged for dipping."),
            V("Jalapeño Kettle Chips", "vegetarian spicy", note="Seasoned with real jalapeño."),
        ],
        ["Crispin's", GB],
        [("200 g", 3.99)],
        tags="gluten-free nut-free",
        uses=("Party-size bag for sharing.", "Pairs well with a dip."),
        cycle=(10, 20),
        keep=7,
        popularity=2.0,
    ),
    K(
        "tortilla-chips",
        "Snacks > Chips",
        [
            V("Restaurant-Style Tortilla Chips", note="Thin and lightly salted, like the ones at taquerias."),
            V("Hint of Lime Tortilla Chips", note="Dusted with lime and sea salt."),
            V(
                "Blue Corn Tortilla Chips",
                note="Made with organic blue corn.",
            ),
            V("Multigrain Tortilla Chips", "whole-grain", note="Corn, flax and quinoa chips."),
        ],
        ["Crispin's", "Sierra Roja"],
        [("300 g", 3.99)],
        tags=FOOD_BASICS,
        uses=("Scoop up salsa, guacamole or queso.",),
        cycle=(10, 20),
        keep=4,
    ),
    K(
        "other-snacks",
        "Snacks > Popcorn & Pretzels",
        [
            V("Mini Pretzel Twists", "vegan", note="Crunchy, salted mini pretzels.", sizes=[("454 g", 3.49)]),
            V("Sea Salt Popcorn", "vegan gluten-free", note="Air-popped and lightly salted.", sizes=[("150 g", 3.29)]),
            V(
                "Butter Microwave Popcorn",
                "vegetarian gluten-free",
                note="Movie-theatre butter flavour, 3 bags.",
                sizes=[("3 ct", 2.99)],
            ),
            V(
                "Lightly Salted Rice Cakes",
                "vegan gluten-free",
                note="Whole-grain brown rice cakes.",
                sizes=[("200 g", 2.79)],
            ),
            V(
                "Cheddar Cheese Puffs",
                "vegetarian gluten-free",
                note="Baked corn puffs with real cheddar.",
                sizes=[("200 g", 3.49)],
            ),
        ],
        ["Crispin's", "Trailhead"],
        tags="nut-free",
        uses=("A light snack for movie night.",),
        gluten=True,
        keep=5,
    ),
    K(
        "crackers",
        "Snacks > Crackers",
        [
            V("Whole Wheat Crackers", "vegan whole-grain", note="Woven whole wheat squares."),
            V("Sea Salt Water Crackers", "vegan", note="Thin, crisp crackers for cheese."),
            V("Cheddar Snack Crackers", "vegetarian", note="Baked with real aged cheddar."),
            V("Gluten-Free Seed Crackers", "vegan gluten-free", note="Flax, sesame, sunflower and pumpkin seeds."),
            V("Rosemary Flatbread Crisps", "vegan", note="Thin flatbread crisps with rosemary and olive oil."),
        ],
        ["Bramble & Oak", GB],
        [("200 g", 3.49)],
        uses=("Serve with cheese, dips or soup.",),
        cycle=(14, 28),
        gluten=True,
        keep=5,
    ),
    K(
        "cookies",
        "Snacks > Cookies",
        [
            V("Chocolate Chip Cookies", "vegetarian", note="Crisp edges, chewy middles, lots of chocolate chips."),
            V("Oatmeal Raisin Cookies", "vegetarian", note="Chewy oat cookies with plump raisins."),
            V(
                "Chocolate Sandwich Cookies",
                "vegan dairy-free",
                note="Dark cocoa cookies with a vanilla creme filling.",
            ),
            V("Butter Shortbread", "vegetarian", note="Made with real butter, melts in your mouth."),
            V(
                "Gluten-Free Chocolate Chip Cookies",
                "vegetarian gluten-free",
                note="Crunchy gluten-free cookies with chocolate chips.",
            ),
            V("Ginger Snaps", "vegan", note="Spicy, snappy molasses cookies."),
        ],
        ["Bramble & Oak", GB],
        [("300 g", 3.99)],
        uses=("Perfect with a glass of milk.",),
        cycle=(10, 21),
        gluten=True,
        keep=6,
        popularity=1.5,
    ),
    K(
        "holiday-treats",
        "Seasonal > Holiday",
        [
            V(
                "Gingerbread Cookies",
                "vegetarian",
                note="Spiced gingerbread people with icing buttons.",
                sizes=[("300 g", 4.99)],
            ),
            V(
                "Holiday Sugar Cookies",
                "vegetarian",
                note="Buttery sugar cookies with festive sprinkles.",
                sizes=[("300 g", 4.99)],
            ),
            V(
                "Peppermint Candy Canes",
                "vegan gluten-free",
                note="Classic red and white peppermint candy canes.",
                sizes=[("12 ct", 2.99)],
            ),
            V(
                "Dark Chocolate Peppermint Bark",
                "vegetarian gluten-free",
                note="Dark and white chocolate with crushed candy cane.",
                sizes=[("200 g", 7.99)],
            ),
            V(
                "Panettone",
                "vegetarian",
                note="Italian sweet bread with candied orange and raisins.",
                sizes=[("750 g", 12.99)],
            ),
            V(
                "Whole Berry Cranberry Sauce",
                "vegan gluten-free",
                note="Tart whole cranberries simmered with sugar.",
                sizes=[("348 ml", 2.99)],
                brands=["Harvest Table"],
            ),
            V(
                "Herb Stuffing Mix",
                "vegetarian",
                note="Toasted bread cubes with sage and thyme.",
                sizes=[("340 g", 3.49)],
                brands=["Harvest Table"],
            ),
        ],
        ["Holly & Hearth"],
        tags="seasonal",
        uses=("For the holiday table or a gift basket.",),
        season="holiday",
        gluten=True,
    ),
    K(
        "halloween",
        "Seasonal > Halloween",
        [
            V(
                "Fun Size Chocolate Bars Variety Pack",
                "vegetarian",
                note="Three kinds of mini chocolate bars, individually wrapped.",
                sizes=[("40 ct", 12.99)],
            ),
            V(
                "Candy Corn",
                "vegetarian gluten-free",
                note="The classic tri-colour autumn candy.",
                sizes=[("400 g", 3.99)],
            ),
        ],
        ["Holly & Hearth"],
        tags="seasonal",
        uses=("Stock up for trick-or-treaters.",),
        season="halloween",
        gluten=True,
    ),
    K(
        "bars",
        "Snacks > Bars",
        [
            V(
                "Chewy Chocolate Chip Granola Bars",
                "vegetarian",
                note="Soft whole-grain oat bars with chocolate chips.",
            ),
            V("Oats & Honey Granola Bars", "vegetarian", note="Crunchy oat bars with honey."),
            V("Peanut Butter Protein Bars", "vegetarian high-protein gluten-free", note="20 g of protein per bar."),
            V(
                "Chocolate Brownie Protein Bars",
                "vegetarian high-protein gluten-free",
                note="20 g of protein and 2 g of sugar.",
            ),
            V(
                "Nut-Free School Snack Bars",
                "vegan nut-free",
                note="Made in a peanut- and tree-nut-free facility for lunchboxes.",
            ),
        ],
        ["Trailhead"],
        [("6 ct", 4.49)],
        uses=("A grab-and-go snack.",),
        cycle=(10, 20),
        gluten=True,
        popularity=1.5,
    ),
    K(
        "nuts",
        "Snacks > Nuts & Dried Fruit",
        [
            V("Roasted Salted Almonds", "keto"),
            V("Raw Cashews"),
            V("Deluxe Mixed Nuts", note="Cashews, almonds, pecans and Brazil nuts."),
            V("Classic Trail Mix", note="Peanuts, raisins, almonds and chocolate pieces."),
            V("Shelled Pistachios"),
            V("Dried Mango Slices", "nut-free", note="Unsulphured dried mango, no sugar added."),
            V("Thompson Raisins", "nut-free"),
        ],
        ["Trailhead", GB],
        [("300 g", 6.99)],
        tags="vegan gluten-free",
        notes=("Roasted in small batches.",),
        uses=("A handful makes a satisfying snack.",),
        cycle=(14, 30),
        keep=7,
    ),
    K(
        "chocolate",
        "Snacks > Chocolate & Candy",
        [
            V("70% Dark Chocolate Bar", "vegan dairy-free", note="Smooth dark chocolate with 70% cocoa."),
            V("85% Dark Chocolate Bar", "vegan dairy-free keto low-sugar", note="Intense 85% cocoa chocolate."),
            V("Milk Chocolate Bar", "vegetarian", note="Creamy milk chocolate."),
            V("Sea Salt Caramel Dark Chocolate", "vegetarian", note="Dark chocolate filled with salted caramel."),
            V("Almond Milk Chocolate Bar", "vegetarian", note="Milk chocolate with whole roasted almonds."),
        ],
        ["Cocoa Lane"],
        [("100 g", 3.49)],
        tags="gluten-free",
        uses=("Break off a square after dinner.",),
    ),
    K(
        "candy",
        "Snacks > Chocolate & Candy",
        [
            V("Fruit Gummies", note="Chewy fruit gummies made with gelatin."),
            V("Sour Gummy Worms", note="Sour-sugar coated gummy worms made with gelatin."),
            V("Vegan Fruit Gummies", "vegan", note="Pectin-based gummies, no gelatin."),
        ],
        ["Cocoa Lane", GB],
        [("200 g", 2.99)],
        tags="gluten-free dairy-free",
        keep=3,
    ),
    # ---- Household
    K(
        "cleaning",
        "Household > Cleaning",
        [
            V(
                "Lemon All-Purpose Cleaner",
                note="Cuts grease on counters, stovetops and tiles.",
                sizes=[("950 ml", 3.99)],
            ),
            V(
                "Lavender All-Purpose Cleaner",
                note="Multi-surface spray with a calming lavender scent.",
                sizes=[("950 ml", 3.99)],
            ),
            V("Glass Cleaner", note="Streak-free shine on windows and mirrors.", sizes=[("950 ml", 3.49)]),
            V("Bathroom Cleaner", note="Dissolves soap scum and limescale.", sizes=[("950 ml", 4.29)]),
            V("Disinfecting Wipes", note="Kill 99.9% of household germs.", sizes=[("80 ct", 5.99)]),
            V("Toilet Bowl Cleaner", note="Clinging gel that removes stains under the rim.", sizes=[("710 ml", 3.29)]),
            V("Non-Scratch Scrub Sponges", note="Safe on non-stick pans.", sizes=[("6 ct", 4.49)]),
            V("Microfiber Cloths", note="Washable cloths that trap dust, 100 washes each.", sizes=[("8 ct", 7.99)]),
        ],
        ["PureHome", "EcoNest", GB],
        uses=("Keeps the whole house clean.",),
        cycle=(30, 60),
        keep=9,
        popularity=1.5,
    ),
    K(
        "dish",
        "Household > Dishwashing",
        [
            V("Original Dish Soap", note="Concentrated soap that cuts through grease.", sizes=[("739 ml", 3.49)]),
            V("Lemon Dish Soap", note="Grease-cutting dish soap with lemon scent.", sizes=[("739 ml", 3.49)]),
            V(
                "Free & Clear Dish Soap",
                "fragrance-free",
                note="No dyes or fragrance, gentle on hands.",
                sizes=[("739 ml", 3.79)],
            ),
            V(
                "Dishwasher Tablets",
                note="All-in-one tablets with rinse aid and glass protection.",
                sizes=[("30 ct", 8.99), ("60 ct", 15.99, "family-size")],
            ),
            V("Rinse Aid", note="For spot-free, faster-drying dishes.", sizes=[("250 ml", 4.49)]),
        ],
        ["Brightwash", "EcoNest", GB],
        cycle=(25, 45),
        keep=7,
        popularity=2.0,
    ),
    K(
        "laundry",
        "Household > Laundry",
        [
            V(
                "Original Liquid Laundry Detergent",
                note="Fresh original scent for everyday loads.",
                sizes=[("1.47 L (32 loads)", 9.99), ("2.95 L (64 loads)", 17.99, "family-size")],
            ),
            V(
                "Free & Clear Liquid Laundry Detergent",
                "fragrance-free",
                note="No dyes or perfumes, recommended for sensitive skin.",
                sizes=[("1.47 L (32 loads)", 10.49), ("2.95 L (64 loads)", 18.49, "family-size")],
            ),
            V("Spring Meadow Laundry Pods", note="Pre-measured three-chamber pods.", sizes=[("42 ct", 13.99)]),
            V("Fabric Softener", note="Softens and reduces static.", sizes=[("1.53 L", 6.99)]),
            V("Dryer Sheets", note="Softness and freshness in every sheet.", sizes=[("120 ct", 5.99)]),
            V(
                "Oxygen Stain Remover",
                note="Chlorine-free powder for grass, wine and coffee stains.",
                sizes=[("1.4 kg", 8.99)],
            ),
            V(
                "Wool Dryer Balls",
                "eco",
                note="Reusable for 1,000 loads; a replacement for dryer sheets.",
                sizes=[("6 ct", 14.99)],
            ),
        ],
        ["Brightwash", "EcoNest", GB],
        cycle=(30, 45),
        keep=8,
        popularity=2.0,
    ),
    K(
        "paper",
        "Household > Paper Products",
        [
            V(
                "2-Ply Toilet Paper",
                note="Soft, strong two-ply rolls.",
                sizes=[("12 rolls", 9.99), ("24 rolls", 17.99, "family-size")],
            ),
            V("Ultra Soft 3-Ply Toilet Paper", note="Three plies of cushiony softness.", sizes=[("12 rolls", 12.99)]),
            V(
                "Recycled Toilet Paper",
                "eco",
                note="Made from 100% recycled paper, no added chlorine.",
                sizes=[("12 rolls", 10.99)],
            ),
            V("Paper Towels", note="Select-a-size sheets that absorb fast.", sizes=[("6 rolls", 8.99)]),
            V("Facial Tissues", note="Soft two-ply tissues.", sizes=[("3 boxes", 5.49)]),
        ],
        ["Softfold", "EcoNest", GB],
        cycle=(18, 35),
        keep=7,
        popularity=2.5,
    ),
    K(
        "kitchen-supplies",
        "Household > Kitchen Supplies",
        [
            V("Aluminum Foil", note="Heavy-duty foil for grilling and roasting.", sizes=[("30 m", 4.99)]),
            V("Plastic Cling Wrap", note="Clings to bowls and keeps food fresh.", sizes=[("60 m", 3.99)]),
            V("Parchment Paper", note="Non-stick baking paper, oven-safe to 220°C.", sizes=[("20 m", 4.49)]),
            V("Sandwich Zipper Bags", sizes=[("50 ct", 3.49)]),
            V("Freezer Zipper Bags", sizes=[("30 ct", 4.49)]),
            V(
                "Compostable Kitchen Bags",
                "eco",
                note="Certified compostable bags for food scraps.",
                sizes=[("25 ct", 5.99)],
            ),
            V("Kitchen Trash Bags 50 L", note="Drawstring bags that stretch without tearing.", sizes=[("40 ct", 8.99)]),
        ],
        ["PureHome", "EcoNest", GB],
        uses=("A kitchen drawer essential.",),
        cycle=(30, 60),
        keep=7,
    ),
    K(
        "household-essentials",
        "Household > Essentials",
        [
            V("AA Alkaline Batteries", note="Long-lasting power for remotes and toys.", sizes=[("8 ct", 8.99)]),
            V("AAA Alkaline Batteries", note="Long-lasting power for small devices.", sizes=[("8 ct", 8.99)]),
            V(
                "LED Light Bulbs 60W Equivalent",
                note="Soft white 2700K bulbs that use 9 watts.",
                sizes=[("4 ct", 9.99)],
            ),
            V(
                "Citronella Candle",
                season="summer",
                note="Keeps mosquitoes away from patios for up to 30 hours.",
                sizes=[("1 ct", 7.99)],
            ),
            V(
                "Hardwood Charcoal Briquettes",
                season="summer",
                note="Lights fast and burns hot for grilling.",
                sizes=[("7 kg", 12.99)],
            ),
        ],
        [GB],
    ),
    # ---- Personal Care
    K(
        "oral-care",
        "Personal Care > Oral Care",
        [
            V("Whitening Toothpaste", note="Fluoride toothpaste that lifts surface stains.", sizes=[("100 ml", 3.49)]),
            V(
                "Sensitive Toothpaste",
                note="Relieves sensitivity in two weeks with potassium nitrate.",
                sizes=[("100 ml", 4.99)],
            ),
            V(
                "Kids' Bubble Fruit Toothpaste",
                note="Mild fruity toothpaste for ages 2 and up.",
                sizes=[("75 ml", 2.99)],
            ),
            V("Alcohol-Free Mint Mouthwash", note="Fresh breath without the burn.", sizes=[("1 L", 5.99)]),
            V("Soft Toothbrushes", note="Soft bristles gentle on gums.", sizes=[("2 ct", 3.99)]),
            V(
                "Bamboo Toothbrush",
                "eco",
                note="A compostable bamboo handle with soft bristles.",
                sizes=[("1 ct", 3.49)],
            ),
            V("Mint Dental Floss", sizes=[("50 m", 2.49)]),
        ],
        ["Fresh Harbor", "Dew Botanics", GB],
        cycle=(30, 50),
        keep=7,
        popularity=1.5,
    ),
    K(
        "hair-care",
        "Personal Care > Hair Care",
        [
            V("Daily Moisture Shampoo", note="Gentle shampoo for everyday washing."),
            V("Anti-Dandruff Shampoo", note="Zinc pyrithione shampoo that controls flakes."),
            V("Curl Care Shampoo", note="Sulfate-free shampoo for curls and coils."),
            V("Daily Moisture Conditioner", note="Detangles and softens without weighing hair down."),
            V("Curl Care Conditioner", note="Defines curls and fights frizz with shea butter."),
        ],
        ["Lumen & Leaf", "Fresh Harbor"],
        [("400 ml", 6.99), ("1 L", 13.99, "family-size")],
        uses=("Lather, rinse, repeat.",),
        cycle=(30, 60),
        keep=6,
        popularity=1.5,
    ),
    K(
        "body-care",
        "Personal Care > Body & Bath",
        [
            V(
                "Oatmeal Sensitive Body Wash",
                "fragrance-free",
                note="Colloidal oatmeal soothes dry, sensitive skin.",
                sizes=[("532 ml", 6.49)],
            ),
            V("Citrus Body Wash", note="Energising citrus body wash.", sizes=[("532 ml", 5.99)]),
            V("Eucalyptus Mint Body Wash", note="Refreshing eucalyptus and spearmint.", sizes=[("532 ml", 5.99)]),
            V("Moisturizing Bar Soap", note="Gentle bars with shea butter.", sizes=[("4 ct", 4.99)]),
            V("Foaming Hand Soap", note="Rich foam that rinses clean.", sizes=[("400 ml", 3.49)]),
            V("Hand Soap Refill", note="Refills three foaming soap bottles.", sizes=[("1 L", 6.49)]),
            V("Daily Body Lotion", note="Fast-absorbing lotion for 24-hour moisture.", sizes=[("400 ml", 7.49)]),
            V("Hand Sanitizer", note="70% alcohol gel with aloe.", sizes=[("236 ml", 2.99)]),
        ],
        ["Dew Botanics", "Fresh Harbor", GB],
        cycle=(30, 50),
        keep=9,
        popularity=1.5,
    ),
    K(
        "deodorant",
        "Personal Care > Deodorant",
        [
            V("Cedar & Sage Aluminum-Free Deodorant", note="Aluminum-free deodorant with a woodsy scent."),
            V("Unscented Aluminum-Free Deodorant", "fragrance-free", note="No scent, no aluminum, all-day freshness."),
            V("Clean Scent Antiperspirant", note="48-hour sweat protection."),
        ],
        ["Dew Botanics", "Fresh Harbor"],
        [("75 g", 5.99)],
        cycle=(30, 60),
        keep=3,
    ),
    K(
        "shaving",
        "Personal Care > Shaving",
        [
            V("Sensitive Shave Gel", note="Aloe shave gel for a close, comfortable shave.", sizes=[("200 ml", 3.99)]),
            V("5-Blade Razor Refills", note="Five-blade cartridges with a lubricating strip.", sizes=[("4 ct", 16.99)]),
            V("Disposable Razors", note="Three-blade disposable razors.", sizes=[("10 ct", 9.99)]),
        ],
        ["Fresh Harbor"],
        cycle=(30, 60),
    ),
    K(
        "feminine-care",
        "Personal Care > Feminine Care",
        [
            V("Regular Tampons", note="Plastic applicator tampons with leak guard.", sizes=[("36 ct", 8.99)]),
            V(
                "Organic Cotton Tampons",
                "organic",
                note="100% organic cotton, no chlorine bleaching.",
                sizes=[("32 ct", 9.99)],
            ),
            V("Overnight Pads", note="Extra-long pads with wings for overnight protection.", sizes=[("28 ct", 7.99)]),
            V("Thin Panty Liners", note="Breathable daily liners.", sizes=[("60 ct", 5.49)]),
        ],
        ["Fresh Harbor", "Dew Botanics"],
        cycle=(25, 35),
        keep=4,
    ),
    K(
        "sun-care",
        "Personal Care > Sun Care",
        [
            V(
                "SPF 30 Sunscreen Lotion",
                note="Broad-spectrum SPF 30, water-resistant for 80 minutes.",
                sizes=[("240 ml", 10.99)],
            ),
            V(
                "SPF 50 Kids Sunscreen",
                note="Broad-spectrum SPF 50, tear-free and pediatrician tested.",
                sizes=[("240 ml", 11.99)],
            ),
            V(
                "SPF 50 Sport Spray Sunscreen",
                note="A continuous spray that stays on through sweat.",
                sizes=[("170 g", 12.99)],
            ),
            V(
                "Mineral SPF 30 Face Sunscreen",
                "fragrance-free",
                note="Zinc oxide sunscreen for sensitive faces.",
                sizes=[("75 ml", 14.99)],
            ),
            V("Aloe Vera After-Sun Gel", note="Cools and soothes sun-exposed skin.", sizes=[("250 ml", 6.99)]),
        ],
        ["Fresh Harbor", "Dew Botanics"],
        tags="seasonal",
        uses=("Reapply every two hours in the sun.",),
        season="summer",
        keep=5,
    ),
    K(
        "health",
        "Personal Care > First Aid & Health",
        [
            V("Lip Balm", note="Beeswax lip balm with vitamin E.", sizes=[("2 ct", 3.99)]),
            V("Cotton Swabs", note="Double-tipped cotton swabs on paper sticks.", sizes=[("500 ct", 3.99)]),
            V("Adhesive Bandages", note="Assorted flexible fabric bandages.", sizes=[("60 ct", 4.99)]),
            V(
                "Insect Repellent",
                season="summer",
                note="DEET-free picaridin spray for mosquitoes and ticks.",
                sizes=[("177 ml", 8.99)],
            ),
        ],
        ["Fresh Harbor"],
    ),
    # ---- Baby
    K(
        "diapers",
        "Baby > Diapers",
        [
            V("Diapers Size 1 (8-14 lb)", sizes=[("84 ct", 24.99)]),
            V("Diapers Size 2 (12-18 lb)", sizes=[("74 ct", 24.99)]),
            V("Diapers Size 3 (16-28 lb)", sizes=[("68 ct", 24.99)]),
            V("Diapers Size 4 (22-37 lb)", sizes=[("60 ct", 24.99)]),
            V("Diapers Size 5 (27+ lb)", sizes=[("52 ct", 24.99)]),
            V(
                "Overnight Diapers Size 4",
                note="Extra absorbent for up to 12 hours of sleep.",
                sizes=[("44 ct", 24.99)],
            ),
        ],
        ["Little Sprout", "Tiny Steps"],
        notes=(
            "Up to 12 hours of leak protection with a wetness indicator.",
            "Soft, breathable and free of chlorine, lotions and fragrance.",
        ),
        uses=("Stretchy sides for a snug fit.",),
        tags="fragrance-free",
        cycle=(7, 14),
        audience="baby",
        keep=7,
        popularity=4.0,
    ),
    K(
        "baby-wipes",
        "Baby > Wipes",
        [
            V(
                "Unscented Baby Wipes",
                "fragrance-free",
                note="Thick, soft wipes with no fragrance.",
                sizes=[("72 ct", 3.49), ("3 x 72 ct", 8.99)],
            ),
            V(
                "Sensitive Water Wipes",
                "fragrance-free",
                note="99% water wipes for newborn skin.",
                sizes=[("60 ct", 4.49)],
            ),
        ],
        ["Little Sprout", "Tiny Steps"],
        cycle=(10, 20),
        audience="baby",
        keep=3,
        popularity=3.0,
    ),
    K(
        "baby-food",
        "Baby > Food",
        [
            V(
                "Apple Mango Pouches",
                note="Smooth purée of apple and mango, for 6 months and up.",
                sizes=[("4 x 99 g", 4.99)],
            ),
            V("Sweet Potato & Carrot Purée", note="Stage 2 vegetable purée.", sizes=[("4 x 99 g", 4.99)]),
            V("Banana Oat Purée", note="Banana and whole-grain oats.", sizes=[("4 x 99 g", 4.99)]),
            V(
                "Strawberry Yogurt Melts",
                "vegetarian",
                note="Freeze-dried yogurt bites that dissolve easily.",
                sizes=[("28 g", 3.99)],
            ),
            V("Teething Wafers", note="Rice wafers that melt for sore gums.", sizes=[("12 ct", 4.49)]),
        ],
        ["Little Sprout"],
        tags="organic gluten-free",
        uses=("No added sugar or salt.",),
        cycle=(7, 14),
        audience="baby",
        popularity=2.0,
    ),
    K(
        "formula",
        "Baby > Formula",
        [
            V("Infant Formula Stage 1", note="Milk-based powder formula for 0-12 months, with DHA."),
            V("Gentle Infant Formula", note="Partially broken-down proteins for fussiness and gas."),
            V("Toddler Formula Stage 3", note="Milk drink for 12-36 months."),
        ],
        ["Tiny Steps"],
        [("900 g", 34.99)],
        tags="vegetarian kosher",
        cycle=(7, 12),
        audience="baby",
        popularity=1.0,
    ),
    K(
        "baby-care",
        "Baby > Care",
        [
            V("Baby Shampoo & Wash", note="Tear-free shampoo and body wash in one.", sizes=[("400 ml", 6.99)]),
            V("Diaper Rash Cream", note="40% zinc oxide to treat and prevent rash.", sizes=[("113 g", 8.99)]),
            V("Baby Lotion", note="Gentle moisturising lotion with oat extract.", sizes=[("400 ml", 6.49)]),
        ],
        ["Little Sprout", "Tiny Steps"],
        tags="fragrance-free",
        audience="baby",
        keep=3,
    ),
    # ---- Pet
    K(
        "dog-food",
        "Pet > Dog Food",
        [
            V(
                "Chicken & Rice Dry Dog Food",
                note="Real chicken is the first ingredient.",
                sizes=[("2 kg", 14.99), ("7 kg", 39.99)],
            ),
            V(
                "Lamb & Brown Rice Dry Dog Food",
                note="Gentle lamb recipe for sensitive stomachs.",
                sizes=[("2 kg", 15.99), ("7 kg", 42.99)],
            ),
            V(
                "Grain-Free Salmon & Sweet Potato Dog Food",
                note="Grain-free salmon recipe for dogs with allergies.",
                sizes=[("2 kg", 19.99)],
            ),
            V("Small Breed Puppy Food", note="Small kibble with DHA for growing puppies.", sizes=[("2 kg", 16.99)]),
            V("Beef Stew Wet Dog Food", note="Hearty chunks in gravy.", sizes=[("370 g", 2.79), ("12 x 370 g", 29.99)]),
        ],
        ["Happy Tails", GB],
        notes=("Complete and balanced nutrition for adult dogs.",),
        cycle=(14, 24),
        audience="dog",
        keep=7,
        popularity=4.0,
    ),
    K(
        "cat-food",
        "Pet > Cat Food",
        [
            V(
                "Indoor Chicken Dry Cat Food",
                note="Hairball control formula for indoor cats.",
                sizes=[("1.5 kg", 12.99), ("4 kg", 29.99)],
            ),
            V("Salmon Dry Cat Food", note="Ocean salmon recipe with taurine.", sizes=[("1.5 kg", 13.99)]),
            V("Kitten Dry Food", note="Small kibble for kittens up to 12 months.", sizes=[("1.5 kg", 14.99)]),
            V("Pâté Variety Pack Wet Cat Food", note="Chicken, turkey and fish pâtés.", sizes=[("12 x 85 g", 13.99)]),
            V("Tuna in Gravy Wet Cat Food", note="Flaked tuna in a savoury gravy.", sizes=[("12 x 85 g", 13.99)]),
        ],
        ["Whisker & Paw", GB],
        cycle=(12, 24),
        audience="cat",
        keep=6,
        popularity=4.0,
    ),
    K(
        "cat-litter",
        "Pet > Cat Litter",
        [
            V(
                "Unscented Clumping Clay Litter",
                "fragrance-free",
                note="Hard clumps, 99% dust-free.",
                sizes=[("7 kg", 11.99), ("14 kg", 19.99)],
            ),
            V(
                "Lightweight Clumping Litter",
                note="Half the weight of clay litter, same clumping.",
                sizes=[("5.4 kg", 14.99)],
            ),
            V(
                "Pine Pellet Litter",
                "eco",
                note="Compostable pine pellets that lock in odour naturally.",
                sizes=[("9 kg", 12.99)],
            ),
        ],
        ["Whisker & Paw"],
        cycle=(14, 28),
        audience="cat",
        popularity=3.0,
    ),
    K(
        "dog-treats",
        "Pet > Treats",
        [
            V("Peanut Butter Dog Biscuits", note="Crunchy oven-baked biscuits.", sizes=[("900 g", 7.99)]),
            V("Chicken Jerky Dog Treats", note="Single-ingredient chicken breast jerky.", sizes=[("300 g", 11.99)]),
            V("Dental Chews for Dogs", note="Daily chews that reduce tartar build-up.", sizes=[("30 ct", 14.99)]),
        ],
        ["Happy Tails"],
        uses=("A reward for good behaviour.",),
        cycle=(20, 40),
        audience="dog",
    ),
    K(
        "cat-treats",
        "Pet > Treats",
        [
            V("Catnip Cat Treats", note="Crunchy treats with a soft centre and catnip.", sizes=[("85 g", 3.99)]),
            V("Salmon Cat Treats", note="Freeze-dried wild salmon bites.", sizes=[("60 g", 6.99)]),
        ],
        ["Whisker & Paw"],
        uses=("Most cats come running at the sound of the bag.",),
        cycle=(20, 40),
        audience="cat",
    ),
)

# Kinds bought together: when a basket holds the first kind, the shopper often adds their usual
# product of one of the listed kinds (the first one that suits their diet).
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "pasta": ("pasta-sauce",),
    "specialty-pasta": ("pasta-sauce",),
    "pasta-sauce": ("pasta", "specialty-pasta"),
    "tortilla-chips": ("salsa", "dips"),
    "potato-chips": ("dips",),
    "cereal": ("milk", "oat-milk", "almond-milk", "soy-milk"),
    "granola": ("yogurt", "plant-yogurt"),
    "bagels": ("cream-cheese",),
    "crackers": ("cheese",),
    "pancake-mix": ("spreads",),
    "frozen-breakfast": ("spreads",),
    "coffee": ("cream", "oat-creamer"),
    "coffee-pods": ("cream", "oat-creamer"),
    "buns": ("beef", "hot-dogs", "plant-meat"),
    "hot-dogs": ("buns",),
    "tortillas": ("salsa",),
    "bread": ("butter", "spreads"),
    "tea": ("spreads",),
    "dog-food": ("dog-treats",),
    "cat-food": ("cat-litter",),
    "diapers": ("baby-wipes",),
    "turkey": ("holiday-treats",),
    "frozen-pizza": ("soda",),
}

FIRST_NAMES = (
    "Maya",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Ethan",
    "Sofia",
    "Lucas",
    "Isabella",
    "Mason",
    "Mia",
    "Logan",
    "Amelia",
    "James",
    "Harper",
    "Benjamin",
    "Evelyn",
    "Elijah",
    "Abigail",
    "Oliver",
    "Emily",
    "Daniel",
    "Ella",
    "Henry",
    "Chloe",
    "Samuel",
    "Grace",
    "David",
    "Zoe",
    "Joseph",
    "Nora",
    "Owen",
    "Layla",
    "Gabriel",
    "Aria",
    "Carter",
    "Lily",
    "Wyatt",
    "Hannah",
    "Julian",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Fatima",
    "Omar",
    "Aisha",
    "Yusuf",
    "Sara",
    "Mateo",
    "Lucia",
    "Diego",
    "Camila",
    "Andre",
    "Nadia",
    "Tomasz",
    "Ingrid",
    "Kwame",
    "Amara",
    "Chen",
    "Ling",
    "Ravi",
    "Anika",
    "Dmitri",
    "Elena",
    "Jonas",
    "Freya",
    "Malik",
    "Imani",
    "Rosa",
    "Tariq",
    "Leila",
    "Patrick",
    "Siobhan",
    "Hugo",
    "Margaux",
    "Kenji",
    "Yuna",
    "Rafael",
    "Beatriz",
)
LAST_NAMES = (
    "Patel",
    "Nguyen",
    "Smith",
    "Garcia",
    "Johnson",
    "Kim",
    "Brown",
    "Martinez",
    "Lee",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Thompson",
    "White",
    "Lopez",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Perez",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Reed",
    "Okafor",
    "Mensah",
    "Haddad",
    "Khan",
    "Rahman",
    "Cohen",
    "Levi",
    "Novak",
    "Kowalski",
    "Schmidt",
    "Müller",
    "Rossi",
    "Bianchi",
    "Silva",
    "Santos",
    "Tanaka",
    "Sato",
    "Wong",
    "Chen",
    "Singh",
    "Sharma",
    "Ivanova",
    "O'Brien",
    "Dubois",
    "Lindqvist",
    "Mwangi",
)

# Description building blocks: a product's description is its own fact plus up to two of a brand
# line, a serving idea, a line about its diet tags and a line about its size or season.
TAG_PHRASES: dict[str, tuple[str, ...]] = {
    "vegan": ("vegan", "100% plant-based", "suitable for vegans"),
    "gluten-free": ("gluten-free", "made without gluten", "certified gluten-free"),
    "dairy-free": ("dairy-free", "free from milk"),
    "lactose-free": ("lactose-free",),
    "nut-free": ("nut-free", "made without peanuts or tree nuts"),
    "organic": ("certified organic", "organic"),
    "low-sugar": ("low in sugar", "lightly sweetened at most"),
    "sugar-free": ("sugar-free", "free of sugar and sweeteners"),
    "high-protein": ("high in protein", "a good source of protein"),
    "whole-grain": ("whole-grain", "a good source of fibre"),
    "keto": ("keto-friendly", "low in net carbs"),
    "kosher": ("kosher certified",),
    "halal": ("halal certified",),
    "fair-trade": ("Fair Trade certified",),
    "eco": ("made with the planet in mind", "low-waste"),
    "caffeine-free": ("naturally caffeine-free",),
    "fragrance-free": ("fragrance-free", "free of added scent"),
}
TAG_TEMPLATES = ("{}.", "It is {}.", "Good to know: it is {}.", "Proudly {}.")
# Produce, meat and fish only mention labels that set one product apart from the next.
PLAIN_FOOD_DEPARTMENTS = ("Produce", "Meat & Seafood")
PLAIN_FOOD_TAGS = ("organic", "halal", "kosher", "fair-trade")
FAMILY_SIZE_LINES = (
    "The {size} size is the better buy for big households.",
    "Stock up with the {size} family size.",
    "A family-size {size} pack: fewer trips, better value.",
)
SEASON_WORDS = {
    "fall": "autumn",
    "thanksgiving": "Thanksgiving",
    "holiday": "holiday season",
    "winter": "winter",
    "halloween": "Halloween",
    "summer": "summer",
}
SEASON_LINES = (
    "Available for a limited time this {season}.",
    "A {season} favourite, here only while the season lasts.",
    "Seasonal: on our shelves for {season} only.",
)


@dataclass
class ShopProduct:
    id: str
    name: str
    brand: str
    category: str
    size: str
    price_cents: int
    stock: int
    tags: list[str]
    description: str
    kind: Kind
    season: str | None
    pack_factor: float  # how much longer this pack lasts than the variant's smallest one
    old_price_cents: int  # what it cost before `price_changed_at`
    price_changed_at: datetime

    @property
    def is_food(self) -> bool:
        return self.category.split(" > ")[0] in FOOD_DEPARTMENTS

    def price_at(self, when: datetime) -> int:
        return self.old_price_cents if when < self.price_changed_at else self.price_cents


def rng_for(seed: int, stream: str) -> random.Random:
    """An independent random stream per purpose, so editing one table does not reshuffle the rest."""
    return random.Random(f"{seed}:{stream}")


def in_season(season: str | None, day: date) -> bool:
    if season is None:
        return True
    (m1, d1), (m2, d2) = SEASONS[season]
    start, end, today = (m1, d1), (m2, d2), (day.month, day.day)
    return start <= today <= end if start <= end else today >= start or today <= end


def shelf_price(cents: float) -> int:
    """Rounds to a shop-style price ending in 9: 3.77 -> 3.79, 1.71 -> 1.69."""
    return max(49, int(round(cents / 10)) * 10 - 1)


def choose_combinations(kind: Kind, rng: random.Random) -> list[tuple[Variant, str, tuple]]:
    """The variant x brand x size lines the shop stocks: every variant at least once, `keep` in all."""
    groups = [[(v, b, s) for b in (v.brands or kind.brands) for s in (v.sizes or kind.sizes)] for v in kind.variants]
    flat = [(vi, ci) for vi, group in enumerate(groups) for ci in range(len(group))]
    if kind.keep is None or kind.keep >= len(flat):
        picked = flat
    else:
        picked = [(vi, rng.randrange(len(group))) for vi, group in enumerate(groups)]
        rest = [x for x in flat if x not in picked]
        picked = sorted(picked + rng.sample(rest, max(0, kind.keep - len(picked))))
    return [groups[vi][ci] for vi, ci in picked]


def product_tags(kind: Kind, variant: Variant, brand: str, size: tuple, season: str | None, food: bool) -> list[str]:
    tags = set((kind.tags + " " + variant.tags + " " + BRANDS[brand].tags + " " + " ".join(size[2:])).split())
    if season:
        tags.add("seasonal")
    if food and "vegan" in tags:
        tags |= {"vegetarian", "dairy-free"}
    unknown = tags - set(TAG_VOCABULARY)
    if unknown:
        raise ValueError(f"{variant.name}: tags outside the vocabulary: {sorted(unknown)}")
    return [t for t in TAG_VOCABULARY if t in tags]


def describe(
    kind: Kind, variant: Variant, brand: str, size: str, tags: list[str], season: str | None, rng: random.Random
) -> str:
    """One to three sentences: the product's own fact first, then up to two varied extras."""
    fact = variant.note or (rng.choice(kind.notes) if kind.notes else "")
    extras = []
    if rng.random() < 0.55:
        extras.append(rng.choice(BRANDS[brand].blurbs))
    if kind.uses and rng.random() < 0.6:
        extras.append(rng.choice(kind.uses))
    notable = [t for t in tags if t in TAG_PHRASES]
    if kind.category.split(" > ")[0] in PLAIN_FOOD_DEPARTMENTS:
        notable = [t for t in notable if t in PLAIN_FOOD_TAGS]
    if "vegan" in notable:  # vegan already says it
        notable = [t for t in notable if t != "dairy-free"]
    if notable and rng.random() < 0.55:
        chosen = rng.sample(notable, min(len(notable), rng.choice((1, 2, 2, 3))))
        phrases = [rng.choice(TAG_PHRASES[t]) for t in chosen]
        joined = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        template = rng.choice(TAG_TEMPLATES)
        line = template.format(joined)
        extras.append(line[0].upper() + line[1:])
    if season and rng.random() < 0.8:
        extras.append(rng.choice(SEASON_LINES).format(season=SEASON_WORDS[season]))
    elif "family-size" in tags and rng.random() < 0.7:
        extras.append(rng.choice(FAMILY_SIZE_LINES).format(size=size))
    if kind.notes and variant.note and rng.random() < 0.25:
        extras.append(rng.choice(kind.notes))
    rng.shuffle(extras)
    sentences = ([fact] if fact else []) + extras
    if not sentences:
        sentences = [f"{brand} {variant.name.lower()}, {size}."]
    return " ".join(sentences[:3])


def stock_level(season: str | None, rng: random.Random) -> int:
    """Units on hand on DEMO_TODAY: about 8% sold out, some running low, off-season goods mostly gone."""
    if not in_season(season, DEMO_TODAY.date()):
        return 0 if rng.random() < 0.6 else rng.randint(1, 6)
    roll = rng.random()
    if roll < 0.065:
        return 0
    if roll < 0.14:
        return rng.randint(1, 5)
    return rng.randint(8, 180)


def build_catalogue(rng: random.Random) -> list[ShopProduct]:
    products: list[ShopProduct] = []
    for kind in KINDS:
        for variant, brand, size in choose_combinations(kind, rng):
            season = variant.season or kind.season
            food = kind.category.split(" > ")[0] in FOOD_DEPARTMENTS
            tags = product_tags(kind, variant, brand, size, season, food)
            base_sizes = variant.sizes or kind.sizes
            price = shelf_price(size[1] * 100 * BRANDS[brand].price_factor * variant.price)
            products.append(
                ShopProduct(
                    id=f"P{len(products) + 1:04d}",
                    name=variant.name,
                    brand=brand,
                    category=kind.category,
                    size=size[0],
                    price_cents=price,
                    stock=stock_level(season, rng),
                    tags=tags,
                    description=describe(kind, variant, brand, size[0], tags, season, rng),
                    kind=kind,
                    season=season,
                    pack_factor=size[1] / min(s[1] for s in base_sizes),
                    old_price_cents=shelf_price(price * rng.uniform(0.88, 0.97)),
                    price_changed_at=DEMO_TODAY - timedelta(days=rng.uniform(20, 420)),
                )
            )
    seen = set()
    for p in products:
        key = (p.brand, p.name, p.size)
        if key in seen:
            raise ValueError(f"two products are both {key}")
        seen.add(key)
    return products


# --------------------------------------------------------------------------------------------------
# Customers and their shopping habits


@dataclass(frozen=True)
class CustomerRow:
    id: str
    name: str
    email: str


def email_for(first: str, last: str, rng: random.Random) -> str:
    def plain(s: str) -> str:
        ascii_ = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
        return "".join(c for c in ascii_.lower() if c.isalnum())

    f, s = plain(first), plain(last)
    local = rng.choice((f"{f}.{s}", f"{f[0]}{s}", f"{f}{s}{rng.randint(1, 99)}", f"{f}_{s}", f"{s}.{f}"))
    return f"{local}@example.com"


def make_customers(rng: random.Random, count: int = 200) -> list[CustomerRow]:
    customers, names, emails = [], set(), set()
    while len(customers) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if (first, last) in names:
            continue
        names.add((first, last))
        email = email_for(first, last, rng)
        while email in emails:
            email = email.replace("@", f"{rng.randint(0, 9)}@")
        emails.add(email)
        has_email = not customers or rng.random() > 0.04  # a few customers only ever ordered by phone
        customers.append(CustomerRow(f"C{len(customers) + 1:04d}", f"{first} {last}", email if has_email else ""))
    return customers


@dataclass
class Staple:
    product: ShopProduct
    interval: float  # days one purchase of quantity 1 lasts this household
    next_due: datetime


@dataclass
class Persona:
    """One household's habits: what it eats, how often it orders, what it always and sometimes buys."""

    customer_id: str
    diet: str | None  # "vegan", "vegetarian", "gluten-free" or None
    household: frozenset[str]  # any of "baby", "dog", "cat"
    gap_days: float  # typical days between orders
    hours: tuple[int, ...]  # hours of the day it likes to order
    start: datetime
    end: datetime
    max_orders: int | None
    parcel: bool  # lives outside the courier area: parcels go by UPS, FedEx or USPS
    seasonal_appetite: float
    staples: list[Staple] = field(default_factory=list)
    occasional: list[tuple[ShopProduct, float]] = field(default_factory=list)
    usual: dict[str, ShopProduct | None] = field(default_factory=dict)

    def suits(self, p: ShopProduct) -> bool:
        if p.kind.audience and p.kind.audience not in self.household:
            return False
        if not p.is_food or self.diet is None:
            return True
        if self.diet == "gluten-free":
            return not p.kind.gluten or "gluten-free" in p.tags
        return self.diet in p.tags

    def usual_for(self, kind_key: str, by_kind: dict[str, list[ShopProduct]], rng: random.Random) -> ShopProduct | None:
        """The product this household buys whenever it buys this kind (chosen once, then kept)."""
        if kind_key not in self.usual:
            options = [p for p in by_kind[kind_key] if self.suits(p) and p.season is None]
            self.usual[kind_key] = rng.choice(options) if options else None
        return self.usual[kind_key]


ORDERING_HOURS = ((7, 8), (12, 13), (19, 20, 21), (21, 22), (9, 10, 11), (15, 16, 17))
GAP_CLASSES = (((5, 9), 0.25), ((10, 18), 0.40), ((20, 35), 0.25), ((40, 75), 0.10))  # (days range, share)
HISTORY_START = DEMO_TODAY - timedelta(days=HISTORY_DAYS)

# C0001 is the customer the demo and tests talk as: a long, rich history ending in a parcel on
# its way and an order just placed.
C0001_TAIL = (
    (DEMO_TODAY - timedelta(days=2, hours=2, minutes=47), "shipped"),
    (DEMO_TODAY - timedelta(hours=4, minutes=38), "placed"),
)


def make_persona(
    customer_id: str, rng: random.Random, catalogue: list[ShopProduct], by_kind: dict[str, list[ShopProduct]]
) -> Persona:
    roll = rng.random()
    diet = "vegan" if roll < 0.06 else "vegetarian" if roll < 0.14 else "gluten-free" if roll < 0.21 else None
    household = frozenset(h for h, share in (("baby", 0.13), ("dog", 0.22), ("cat", 0.2)) if rng.random() < share)
    ((low, high),) = rng.choices([g for g, _ in GAP_CLASSES], [w for _, w in GAP_CLASSES])
    gap, max_orders = rng.uniform(low, high), None
    start = HISTORY_START + timedelta(days=rng.random() ** 1.6 * 450)
    end = DEMO_TODAY
    kind_roll = rng.random()
    if kind_roll < 0.08:  # new customer: joined in the last weeks
        start, gap = DEMO_TODAY - timedelta(days=rng.uniform(2, 45)), rng.uniform(8, 20)
    elif kind_roll < 0.14:  # tried the shop once or twice
        max_orders = rng.randint(1, 3)
    elif kind_roll < 0.26:  # stopped ordering at some point
        end = min(DEMO_TODAY, start + timedelta(days=rng.uniform(60, 400)))
    persona = Persona(
        customer_id,
        diet,
        household,
        gap,
        rng.choice(ORDERING_HOURS),
        start,
        end,
        max_orders,
        parcel=rng.random() < 0.4,
        seasonal_appetite=rng.uniform(0.03, 0.35),
    )
    if customer_id == "C0001":
        persona.diet, persona.household, persona.gap_days, persona.parcel = None, frozenset({"cat"}), 7.5, True
        persona.start, persona.end, persona.max_orders = HISTORY_START + timedelta(days=2), DEMO_TODAY, None
    choose_staples(persona, rng, by_kind, 14 if customer_id == "C0001" else rng.randint(4, 15))
    choose_occasional(persona, rng, catalogue)
    return persona


def choose_staples(persona: Persona, rng: random.Random, by_kind: dict[str, list[ShopProduct]], count: int) -> None:
    pool = [
        k for k in KINDS if k.cycle and k.season is None and (k.audience is None or k.audience in persona.household)
    ]
    weights = [k.popularity * (5 if k.audience else 1) for k in pool]
    while pool and len(persona.staples) < count:
        (kind,) = rng.choices(pool, weights)
        i = pool.index(kind)
        del pool[i], weights[i]
        product = persona.usual_for(kind.key, by_kind, rng)
        if product is None:
            continue
        interval = rng.uniform(*kind.cycle) * product.pack_factor**0.8
        persona.staples.append(Staple(product, interval, persona.start + timedelta(days=rng.uniform(0, interval))))


def choose_occasional(persona: Persona, rng: random.Random, catalogue: list[ShopProduct]) -> None:
    staple_ids = {s.product.id for s in persona.staples}
    options = [p for p in catalogue if p.season is None and p.id not in staple_ids and persona.suits(p)]
    weights = [p.kind.popularity for p in options]
    picked: dict[str, ShopProduct] = {}
    for p in rng.choices(options, weights, k=rng.randint(6, 25)):
        picked[p.id] = p
    persona.occasional = [(p, rng.uniform(0.02, 0.12)) for p in picked.values()]


# --------------------------------------------------------------------------------------------------
# Order simulation


@dataclass
class SimOrder:
    customer_id: str
    placed_at: datetime
    lines: list[tuple[ShopProduct, int]]  # in cart order
    cancelled: bool
    pinned_status: str | None = None


COMPLEMENT_RATE = 0.45
CANCEL_RATE = 0.025
REFUND_RATE = 0.012


def build_basket(
    persona: Persona,
    when: datetime,
    cancelled: bool,
    rng: random.Random,
    by_kind: dict[str, list[ShopProduct]],
    seasonal: list[ShopProduct],
) -> list[tuple[ShopProduct, int]]:
    """What the household orders at `when`: staples running out before the next order, the odd
    occasional item, something seasonal, and things that go with what is already in the cart."""
    lines: dict[str, tuple[ShopProduct, int]] = {}
    horizon = when + timedelta(days=persona.gap_days * 0.5)

    def restock(staple: Staple) -> None:
        qty = min(3, max(1, round(persona.gap_days / staple.interval + rng.uniform(-0.4, 0.4))))
        lines[staple.product.id] = (staple.product, qty)
        if not cancelled:  # a cancelled order never arrived, so the need stays
            staple.next_due = when + timedelta(days=staple.interval * qty * rng.uniform(0.85, 1.2))

    for staple in persona.staples:
        if staple.next_due <= horizon:
            restock(staple)
    for product, chance in persona.occasional:
        if rng.random() < chance and product.id not in lines:
            lines[product.id] = (product, 1 if rng.random() < 0.85 else 2)
    in_season_now = [p for p in seasonal if in_season(p.season, when.date()) and persona.suits(p)]
    if in_season_now and rng.random() < persona.seasonal_appetite:
        for product in rng.sample(in_season_now, min(len(in_season_now), rng.choice((1, 1, 2)))):
            lines.setdefault(product.id, (product, 1))
    for product, _ in list(lines.values()):
        options = COMPLEMENTS.get(product.kind.key, ())
        if options and rng.random() < COMPLEMENT_RATE:
            for kind_key in options:
                partner = persona.usual_for(kind_key, by_kind, rng)
                if partner is not None:
                    lines.setdefault(partner.id, (partner, 1))
                    break
    if not lines:
        restock(min(persona.staples, key=lambda s: s.next_due))
    cart = list(lines.values())
    rng.shuffle(cart)
    return cart


def order_time(day: date, persona: Persona, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, rng.choice(persona.hours), rng.randrange(60), rng.randrange(60))


def simulate_customer(
    persona: Persona, rng: random.Random, by_kind: dict[str, list[ShopProduct]], seasonal: list[ShopProduct]
) -> list[SimOrder]:
    orders: list[SimOrder] = []
    tail = C0001_TAIL if persona.customer_id == "C0001" else ()
    until = min(persona.end, tail[0][0] - timedelta(days=4)) if tail else persona.end
    when = order_time(persona.start.date(), persona, rng)
    while when < until and (persona.max_orders is None or len(orders) < persona.max_orders):
        cancelled = rng.random() < CANCEL_RATE
        basket = build_basket(persona, when, cancelled, rng, by_kind, seasonal)
        orders.append(SimOrder(persona.customer_id, when, basket, cancelled))
        gap = max(1, round(persona.gap_days * rng.lognormvariate(0, 0.3)))
        when = order_time(when.date() + timedelta(days=gap), persona, rng)
    for when, status in tail:
        orders.append(
            SimOrder(
                persona.customer_id, when, build_basket(persona, when, False, rng, by_kind, seasonal), False, status
            )
        )
    return orders


# --------------------------------------------------------------------------------------------------
# Fulfilment: who carries each order and where it stands on DEMO_TODAY

COURIER = "Green Basket Courier"
PARCEL_CARRIERS = (("UPS", 0.45), ("FedEx", 0.35), ("USPS", 0.20))
TRANSIT_DAYS = {"UPS": (1, 1, 2, 2, 2, 3), "FedEx": (1, 2, 2, 2, 3), "USPS": (2, 3, 3, 4, 4, 5)}  # delivery days
PROMISED_DAYS = {"UPS": 2, "FedEx": 2, "USPS": 4}
NO_DELIVERY_WEEKDAYS = {"UPS": (5, 6), "FedEx": (5, 6), "USPS": (6,)}  # Monday is 0
UPS_SHIPPER = "G7B402"  # the shop's UPS account number, part of every UPS tracking number
MIN_PER_STATUS = 10  # the newest orders are held back a stage where needed so every status shows
COLD_DEPARTMENTS = ("Dairy & Eggs", "Plant-Based", "Meat & Seafood", "Deli", "Frozen")


@dataclass
class OrderRow:
    id: str
    sim: SimOrder
    status: str
    carrier: str = ""
    tracking_number: str = ""
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    pack_at: datetime | None = None
    ship_at: datetime | None = None


class TrackingNumbers:
    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used, self.courier_seq = rng, set(), 0

    def new(self, carrier: str, shipped: datetime) -> str:
        while True:
            digits = lambda n: "".join(str(self.rng.randrange(10)) for _ in range(n))  # noqa: E731
            if carrier == "UPS":
                number = f"1Z{UPS_SHIPPER}{self.rng.choice(('03', '02'))}{digits(8)}"
            elif carrier == "FedEx":
                number = f"7{digits(11)}"
            elif carrier == "USPS":
                number = f"94001{digits(17)}"
            else:
                self.courier_seq += 1
                number = f"GBC-{shipped:%y%m%d}-{self.courier_seq:05d}"
            if number not in self.used:
                self.used.add(number)
                return number


def delivery_days_later(day: date, days: int, carrier: str) -> date:
    """The date `days` of the carrier's delivery days after `day` (UPS and FedEx skip weekends)."""
    while days:
        day += timedelta(days=1)
        days -= day.weekday() not in NO_DELIVERY_WEEKDAYS[carrier]
    return day


def plan_delivery(order: OrderRow, persona: Persona, rng: random.Random, tracking: TrackingNumbers) -> None:
    """Courier orders go out in a booked two-hour window, same day up to three days ahead. Parcels are
    packed within a day and leave with the 5 pm carrier pickup (Monday to Saturday; Monday to
    Wednesday only when they hold chilled or frozen food), then take one to five delivery days."""
    placed = order.sim.placed_at
    if not persona.parcel:
        order.carrier = COURIER
        earliest = placed + timedelta(hours=3)
        day = placed.date() + timedelta(days=rng.choice((0, 1, 1, 1, 2, 2, 3)))
        window = datetime(day.year, day.month, day.day, rng.choice((8, 10, 12, 14, 16, 18, 20)))
        while window < earliest:
            window += timedelta(days=1)
        order.pack_at = max(placed + timedelta(minutes=30), window - timedelta(hours=rng.uniform(2, 4)))
        order.ship_at = max(order.pack_at + timedelta(minutes=15), window - timedelta(hours=rng.uniform(0.25, 1)))
        order.delivered_at = max(order.ship_at + timedelta(minutes=10), window + timedelta(minutes=rng.uniform(0, 119)))
        order.estimated_delivery = window.date()
    else:
        (order.carrier,) = rng.choices([c for c, _ in PARCEL_CARRIERS], [w for _, w in PARCEL_CARRIERS])
        cold = any(p.category.split(" > ")[0] in COLD_DEPARTMENTS for p, _ in order.sim.lines)
        order.pack_at = placed + timedelta(hours=rng.uniform(3, 20))
        pickup = order.pack_at.replace(hour=17, minute=0, second=0, microsecond=0)
        if pickup < order.pack_at + timedelta(minutes=30):
            pickup += timedelta(days=1)
        while pickup.weekday() == 6 or (cold and pickup.weekday() > 2):
            pickup += timedelta(days=1)
        if cold and pickup.date() > order.pack_at.date():  # chilled goods are packed on the day they leave
            order.pack_at = pickup - timedelta(hours=rng.uniform(3, 9))
        order.ship_at = pickup
        arrival = delivery_days_later(pickup.date(), rng.choice(TRANSIT_DAYS[order.carrier]), order.carrier)
        order.delivered_at = datetime(arrival.year, arrival.month, arrival.day, 9) + timedelta(
            minutes=rng.uniform(0, 660)
        )
        order.estimated_delivery = delivery_days_later(pickup.date(), PROMISED_DAYS[order.carrier], order.carrier)
    order.pack_at = order.pack_at.replace(microsecond=0)
    order.delivered_at = order.delivered_at.replace(microsecond=0)
    order.tracking_number = tracking.new(order.carrier, order.ship_at)


def pin_in_transit(order: OrderRow, tracking: TrackingNumbers) -> None:
    """C0001's parcel in transit: packed the morning it was ordered, picked up by UPS at 5 pm the
    same day, due two days later (placed a couple of days before DEMO_TODAY, so due about today)."""
    placed = order.sim.placed_at
    order.carrier = "UPS"
    order.pack_at = placed + timedelta(hours=3, minutes=12)
    order.ship_at = placed.replace(hour=17, minute=0, second=0)
    order.estimated_delivery = delivery_days_later(order.ship_at.date(), PROMISED_DAYS["UPS"], "UPS")
    order.delivered_at = None
    order.tracking_number = tracking.new("UPS", order.ship_at)


def status_on(order: OrderRow, now: datetime) -> str:
    if now < order.pack_at:
        return "placed"
    if now < order.ship_at:
        return "packed"
    if now < order.delivered_at:
        return "shipped"
    return "delivered"


STAGES = ("placed", "packed", "shipped", "delivered")


def hold_back_newest(orders: list[OrderRow]) -> None:
    """Guarantees MIN_PER_STATUS orders in each in-progress status by holding the newest orders of a
    later stage back a stage (a window booked further ahead, a parcel waiting for pickup)."""
    newest_first = sorted(orders, key=lambda o: o.sim.placed_at, reverse=True)
    for stage in STAGES[:-1]:
        later = STAGES[STAGES.index(stage) + 1 :]
        missing = MIN_PER_STATUS - sum(o.status == stage for o in orders)
        for order in newest_first:
            if missing <= 0:
                break
            in_transit_ok = stage != "shipped" or order.carrier != COURIER  # only parcels spend days in transit
            if order.sim.pinned_status is None and order.status in later and in_transit_ok:
                order.status, missing = stage, missing - 1


def assign_orders(sim_orders: list[SimOrder], personas: dict[str, Persona], rng: random.Random) -> list[OrderRow]:
    """Numbers orders from 1001 in the order they were placed and works out each one's status."""
    sim_orders = sorted(sim_orders, key=lambda o: (o.placed_at, o.customer_id))
    tracking = TrackingNumbers(rng)
    rows = []
    for n, sim in enumerate(sim_orders):
        row = OrderRow(str(1001 + n), sim, "cancelled")
        if not sim.cancelled:
            plan_delivery(row, personas[sim.customer_id], rng, tracking)
            if sim.pinned_status == "shipped":
                pin_in_transit(row, tracking)
            row.status = sim.pinned_status or status_on(row, DEMO_TODAY)
            refundable = row.status == "delivered" and row.delivered_at < DEMO_TODAY - timedelta(days=2)
            if refundable and rng.random() < REFUND_RATE:
                row.status = "refunded"
        rows.append(row)
    hold_back_newest(rows)
    today = DEMO_TODAY.date()
    for row in rows:
        if row.status in ("placed", "packed", "shipped"):  # not delivered yet: still expected
            row.delivered_at = None
            row.estimated_delivery = max(row.estimated_delivery, today)
        if row.status in ("placed", "packed"):  # no parcel handed to a carrier yet
            row.carrier = row.tracking_number = ""
    return rows


# --------------------------------------------------------------------------------------------------
# Store policies (written for the demo; the shop and its details are invented)

POLICIES: dict[str, str] = {
    "shipping": """# Shipping

Green Basket Market delivers groceries and household goods from our warehouse at 214 Orchard Lane,
Riverton. How your order travels depends on where you live.

## Shipping costs

- **Free shipping on orders over $50.** The $50 is counted on your subtotal after discounts and before tax.
- Orders under $50 pay a flat $5.99 for standard shipping, or $4.99 for local courier delivery.
- Express shipping costs $12.99 and arrives the next business day if you order by 1 pm Eastern, Monday to Friday.
- Orders with chilled or frozen items that ship by parcel carrier add a $4.00 cold-pack fee for the
  insulated box and ice packs.

## Local courier delivery

If your address is within 25 miles of Riverton, our own drivers (Green Basket Courier) bring your
order in a two-hour window that you choose at checkout. See our delivery windows policy for times,
changes and missed deliveries.

## Parcel shipping

Everywhere else in the 48 contiguous states, we ship with UPS, FedEx or USPS. Orders are packed
within one business day and leave with the carrier pickup at 5 pm, Monday to Saturday. UPS and
FedEx usually take 1 to 2 business days after pickup; USPS takes 2 to 4. We cannot ship to Alaska,
Hawaii or overseas, and chilled or frozen items cannot go to PO boxes.

Chilled and frozen items travel in a recyclable insulated box that keeps them cold for 48 hours, so
we only send them Monday to Wednesday; anything else in the same order waits with them so it all
arrives together.

## Tracking your order

As soon as your order leaves the warehouse we email you the carrier and a tracking number, and the
order page shows the estimated delivery date. Tracking usually starts showing movement within a few
hours of pickup. If your parcel is more than two business days past its estimated date, contact us
and we will chase the carrier or send a replacement.
""",
    "returns-and-refunds": """# Returns and Refunds

We want you to be happy with every order. If something is not right, here is how returns and
refunds work at Green Basket Market.

## Non-perishable items: 30 days

You can return unopened, non-perishable items within 30 days of delivery for a full refund. That
covers pantry goods, drinks, household and cleaning products, and unopened personal care items.
Opened items can only be returned if they are faulty or damaged; for example, we cannot take back a
box of cereal that has been opened unless something is wrong with it.

## Perishable items: tell us within 48 hours

Fresh, chilled and frozen food cannot be sent back, but if anything arrives spoiled, damaged,
thawed or past its date, report it within 48 hours of delivery and we will refund it or send a
replacement. A photo helps us fix the problem with our supplier. You do not need to return the item.

## Items we cannot take back

- opened personal care, cosmetics and baby formula
- gift cards
- items marked final sale

## How to return something

Open the order under **Account > Orders** and choose **Return items**, or ask our chat assistant or
customer care team. If the return is our mistake (wrong, damaged or faulty item), the return label
is free. Otherwise a $4.95 prepaid label is deducted from your refund, or you can drop items off
for free at the customer counter at 214 Orchard Lane, Riverton.

## When you get your money back

Refunds go back to your original payment method within 5 to 7 business days after we receive the
return; perishable refunds are usually approved the same day you report them. You can choose
Green Basket store credit instead, which is added to your account instantly. If you cancel an order
before it is packed, we release the payment hold right away; your bank may take 3 to 5 business
days to show it.
""",
    "payment": """# Payment

## Ways to pay

We accept Visa, Mastercard, American Express and Discover credit and debit cards, PayPal, Apple Pay,
Google Pay and Green Basket gift cards. You can split an order between one gift card and one other
payment method. We do not accept cash, cheques or payment on delivery.

## When you are charged

When you place an order we put a temporary hold (an authorisation) on your card for the order
total. We only take the payment when your order is packed. If an item is out of stock or a
substitute costs less, we charge the lower amount; you are never charged more than the total you
agreed to at checkout. If you cancel before packing, the hold is released.

## Prices, tax and promo codes

All prices are in US dollars. Sales tax is worked out at checkout from your delivery address and
shown before you pay. You can use one promo code per order; codes cannot be combined with each other
and cannot be applied after an order has been placed. Gift cards never expire and can be used on
any product, but they cannot be used to buy other gift cards.

## If a payment fails

If your card is declined when we try to take payment, we email you and keep your order for 24
hours. Update your payment method under **Account > Payment methods** and we will try again; after
24 hours without a working payment the order is cancelled.

## Receipts and security

A receipt is emailed when your payment is taken, and every invoice can be downloaded from your
order page. Card details are handled by our payment processor and never stored on our servers; we
only keep the last four digits so you can recognise your card.
""",
    "delivery-windows": """# Delivery Windows

Local orders (within 25 miles of Riverton) are delivered by our own drivers, Green Basket Courier,
in a two-hour delivery window that you pick at checkout.

## Choosing a window

Windows run every day of the week, from 8 am to 10 pm: 8-10, 10-12, 12-2, 2-4, 4-6, 6-8 and
8-10 pm. You can book up to 7 days ahead. Same-day windows are offered for orders placed before
11 am, as long as a slot is still free. The courier fee is $4.99, waived on orders over $50.

## Changing your order or window

You can add items, remove items or move your order to a different window until 10 pm the night
before your delivery (for same-day deliveries, up to 3 hours before the window starts). Open the
order under **Account > Orders** and choose **Change window** or **Edit items**. After that point
your order is being picked and packed, and changes are no longer possible.

## On delivery day

We pick and pack your order a few hours before your window, keeping chilled and frozen items in
cold storage until the van leaves. You get a text message when the driver is about 30 minutes away
with a live tracking link, and your tracking number starts with GBC. Drivers bring bags to your
door and can carry them to a building lobby or concierge.

## If you are not home

Tick **Leave at door** at checkout and the driver leaves your bags in a safe place and takes a
photo. Otherwise the driver waits 10 minutes and calls you. If we cannot reach you, the order comes
back to the warehouse and we will offer you a new window; a $4.99 redelivery fee applies, and
perishables that cannot be kept cold are donated to the Riverton Food Bank rather than redelivered.

If your driver is running late, we will text you. Orders delivered more than 30 minutes after the
end of your window get the courier fee refunded automatically.
""",
    "substitutions": """# Substitutions

Sometimes an item sells out between the time you order and the time we pack. Substitutions let us
send you something similar instead of leaving a gap in your order.

## Your choices

For each item in your cart you can choose:

- **Best match** (the default): our packers pick the closest alternative, such as another brand of
  the same product in the same or a larger size.
- **Choose my own**: pick your preferred back-up product yourself at checkout.
- **Don't substitute**: if the item is out of stock, we leave it out and refund it.

You can change your choices on the order page until the order is packed.

## Our promises

- You never pay more for a substitute. If it costs more, you pay the original price; if it costs
  less, you pay the lower price.
- We respect dietary needs. A product labelled vegan, gluten-free, dairy-free, nut-free, kosher or
  halal is only ever replaced by one with the same labels.
- We never substitute baby formula, pet food or medicines unless you chose the replacement yourself.

## Checking and refusing substitutes

When your order is packed we email and text you a list of substitutions and anything that was out
of stock. You can hand a substitute back to the courier driver at the door, or refuse it within 24
hours of delivery from the order page, and we refund it in full; there is no need to send it back.
Out-of-stock items with no substitute are refunded automatically to your original payment method,
usually within 3 to 5 business days.
""",
    "privacy": """# Privacy

Green Basket Market collects only the personal information we need to run your orders and improve
our service, and we never sell it.

## What we collect

- Your name, email address, phone number and delivery addresses.
- Your order history, substitution preferences and favourites.
- Payment details, which are held by our payment processor; we only see the card type and the last
  four digits.
- Chat transcripts with our assistant and customer care team, kept for 90 days.
- Basic device and cookie data from our website and app.

## How we use it

We use your information to deliver orders, take payment, answer your questions, prevent fraud and
suggest products you might want to buy again. You can turn off personalised suggestions in
**Account > Privacy**. We share only what is needed with the companies that help us: delivery
carriers receive your name, address and phone number, and our payment processor receives your
payment details.

## Marketing

We only send marketing emails if you opt in. Every email has an unsubscribe link, and you can also
switch off marketing emails and texts under **Account > Notifications**. Order and delivery messages
are not marketing and will still be sent.

## Your rights

You can ask for a copy of your data, ask us to correct it or ask us to delete your account and
data. Use **Account > Privacy** or email privacy@greenbasket.example, and we respond within 30
days. We keep order and payment records for 7 years because tax law requires it, even after an
account is deleted.

## Cookies

We use essential cookies to keep you signed in and your cart saved, and analytics cookies to
understand how our site is used. You can turn analytics cookies off in the cookie banner or under
**Account > Privacy** at any time.
""",
    "account-help": """# Account Help

## Creating an account

You can check out as a guest, but an account lets you track orders, save addresses and use
**Buy again**. If you checked out as a guest before, create an account with the same email address
and your past orders will appear in your order history.

## Forgotten password

Choose **Forgot password?** on the sign-in page and we will email you a reset link. The link works
for 60 minutes and can be used once. If the email does not arrive within 10 minutes, check your spam
folder, then try again. After 5 failed sign-in attempts your account is locked for 15 minutes to
keep it safe.

## Keeping your account secure

Turn on two-step verification under **Account > Security**; you can receive codes by text message
or use an authenticator app. We will never ask for your password or a verification code by phone,
email or chat.

## Changing your details

- **Email address:** change it under **Account > Profile**; we send a confirmation link to the new
  address and the change takes effect once you click it.
- **Addresses:** save up to 10 delivery addresses and choose a default.
- **Phone number:** used for delivery texts and driver calls.
- **Notifications:** choose which order updates you get by email, text or app notification.

## Orders and reordering

Your full order history is under **Account > Orders**, with invoices, tracking and returns. **Buy
again** adds the items from any past order to your cart, and favourites are saved under
**Account > Favourites**.

## Closing your account

Go to **Account > Privacy > Delete account**. Any open orders must be delivered or cancelled first,
and unused store credit or gift card balances are lost when the account is closed. Deletion is
completed within 30 days. If you cannot sign in at all, contact customer care and we will verify
your identity and help you back in.
""",
    "contact-us": """# Contact Us

Our assistant can answer most questions straight away, but you can always reach a real person on
the Green Basket Market customer care team.

## Talk to a person

- **Live chat:** in the app or on our website, every day from 7 am to 10 pm Eastern. Type
  "talk to a person" in the chat at any time and you will be handed to an agent; outside chat hours
  we will reply by email the next morning.
- **Phone:** 1-800-555-0142, Monday to Friday 8 am to 8 pm and Saturday and Sunday 9 am to 5 pm
  Eastern. Deaf and hard-of-hearing customers can call through the 711 relay service.
- **Email:** help@greenbasket.example. We answer within one business day.

## Problems on delivery day

If your courier delivery is late, missing or incomplete, call the courier line on 1-800-555-0199
(7 am to 10 pm, every day) so we can reach the driver while they are still nearby. For parcels sent
by UPS, FedEx or USPS, contact us rather than the carrier: we can open a claim for you.

## Help us help you faster

Have your order number ready (you will find it in your confirmation email and under
**Account > Orders**), along with the email address on your account. For damaged or spoiled items,
a photo speeds things up.

## Visit or write to us

Our customer counter at 214 Orchard Lane, Riverton is open Monday to Saturday, 9 am to 6 pm, for
returns and order pick-ups. Post can be sent to Green Basket Market Customer Care, 214 Orchard Lane,
Riverton.

## Complaints and feedback

If you are not happy with how we handled something, ask the agent to pass your case to a team
supervisor, who will get back to you within two business days. We read every piece of feedback
sent through the app.
""",
}


# --------------------------------------------------------------------------------------------------
# Writing the shop folder


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def write_csv(path: Path, header: Sequence[str], rows: list[Sequence]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_policies(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.md"):
        if stale.stem not in POLICIES:
            stale.unlink()
    for policy_id, text in POLICIES.items():
        (folder / f"{policy_id}.md").write_text(text, encoding="utf-8")


def generate(out_dir: Path = DEMO_DATA_DIR, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Writes the whole demo shop into `out_dir`; returns how many rows each file got."""
    catalogue = build_catalogue(rng_for(seed, "products"))
    by_kind: dict[str, list[ShopProduct]] = {k.key: [] for k in KINDS}
    for product in catalogue:
        by_kind[product.kind.key].append(product)
    seasonal = [p for p in catalogue if p.season]
    customers = make_customers(rng_for(seed, "customers"))
    personas, sim_orders = {}, []
    for customer in customers:
        rng = rng_for(seed, f"customer:{customer.id}")
        persona = personas[customer.id] = make_persona(customer.id, rng, catalogue, by_kind)
        sim_orders += simulate_customer(persona, rng, by_kind, seasonal)
    orders = assign_orders(sim_orders, personas, rng_for(seed, "fulfilment"))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(
        out_dir / "products.csv",
        ("product_id", "name", "brand", "category", "size", "price", "stock", "tags", "description"),
        [
            (p.id, p.name, p.brand, p.category, p.size, money(p.price_cents), p.stock, ";".join(p.tags), p.description)
            for p in catalogue
        ],
    )
    write_csv(out_dir / "customers.csv", ("customer_id", "name", "email"), [(c.id, c.name, c.email) for c in customers])
    write_csv(
        out_dir / "orders.csv",
        (
            "order_id",
            "customer_id",
            "placed_at",
            "status",
            "carrier",
            "tracking_number",
            "estimated_delivery",
            "delivered_at",
        ),
        [
            (
                o.id,
                o.sim.customer_id,
                iso(o.sim.placed_at),
                o.status,
                o.carrier,
                o.tracking_number,
                o.estimated_delivery.isoformat() if o.estimated_delivery else "",
                iso(o.delivered_at),
            )
            for o in orders
        ],
    )
    items = [(o.id, p.id, qty, money(p.price_at(o.sim.placed_at))) for o in orders for p, qty in o.sim.lines]
    write_csv(out_dir / "order_items.csv", ("order_id", "product_id", "quantity", "unit_price"), items)
    write_policies(out_dir / "policies")
    return {
        "products": len(catalogue),
        "customers": len(customers),
        "orders": len(orders),
        "order_items": len(items),
        "policies": len(POLICIES),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEMO_DATA_DIR)
    args = parser.parse_args(argv)
    counts = generate(args.out, args.seed)
    print(f"wrote {args.out}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


if __name__ == "__main__":
    main()
