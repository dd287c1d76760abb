"""Generate the synthetic sample shop bundled in ``corpora/``.

The shop sells general merchandise in eight departments. Every customer gets a planted
primary interest (and sometimes a secondary one) and a planted value group; reviews,
browsing events and order lines are then drawn from those, with generic shop chatter and a
few deliberately broken rows mixed in. The planted answers go to ``truth.csv``.

Only the standard library is used, and all randomness comes from one ``random.Random(seed)``,
so the same seed writes byte-identical files on any platform::

    python scripts/make_sample_shop.py --seed 7 --out corpora

Outputs (UTF-8, ``\\n`` line endings):

- ``reviews.csv``: customer_id, review_id, product, rating, timestamp, text
- ``browsing.jsonl``: one object per line with customer_id, timestamp, url, title, query
- ``orders.csv``: customer_id, order_id, order_date, amount, status, category (one row per line item)
- ``truth.csv``: customer_id, interest, secondary_interest, value_group, thin, order_only
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

DEFAULT_SEED = 7
DEFAULT_N_CUSTOMERS = 400
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "corpora"

START = date(2024, 1, 1)
END = date(2025, 6, 30)  # also the reference date for recency
SHOP_URL = "https://shop.example.com"
SHOP_NAME = "Example Shop"

REVIEW_COLUMNS = ("customer_id", "review_id", "product", "rating", "timestamp", "text")
BROWSING_KEYS = ("customer_id", "timestamp", "url", "title", "query")
ORDER_COLUMNS = ("customer_id", "order_id", "order_date", "amount", "status", "category")
TRUTH_COLUMNS = ("customer_id", "interest", "secondary_interest", "value_group", "thin", "order_only")

# Shares and probabilities that shape the data (tuned so that a crude TF-IDF + NMF recovers the
# planted interest for most, but not all, customers; see corpora/README.md).
THIN_SHARE = 0.08
N_ORDER_ONLY = 6
SECONDARY_SHARE = 0.30
SECONDARY_TEXT_SHARE = (0.20, 0.35)
REVIEW_OTHER_SHARE = 0.10  # gifts and one-off purchases outside the customer's interests
BROWSE_OTHER_SHARE = 0.08  # gift browsing in one or two random other departments
BROWSE_GENERIC_SHARE = 0.10  # home page, basket, sale pages
BROWSE_CROSS_SELL_SHARE = 0.08  # "customers also viewed" pages in a neighbouring department
NEIGHBOURS = {
    "kitchen": ("coffee",), "coffee": ("kitchen",), "outdoor": ("fitness", "garden"),
    "fitness": ("outdoor", "audio"), "garden": ("outdoor", "pets"), "pets": ("garden", "outdoor"),
    "beauty": ("fitness",), "audio": ("fitness", "kitchen"),
}
REVIEW_COUNT_WEIGHTS = (19, 23, 20, 13, 9, 7, 5, 4)  # for 1..8 reviews
SENTENCE_COUNTS = (1, 2, 3, 4, 5, 6)
SENTENCE_COUNT_WEIGHTS = (21, 32, 27, 14, 4, 2)  # a few long reviews reach ~80 words
GENERIC_REVIEW_SHARE = 0.12  # reviews with no product-specific sentence at all
GENERIC_SENTENCE_SHARE = 0.32
EXTRA_SENTENCE_SHARE = 0.20  # category-wide sentences ("The dog goes mad for it.")
RATING_WEIGHTS = {5: 46, 4: 24, 3: 11, 2: 7, 1: 12}

EMPTY_TEXTS = ("", "", "", "   ")
N_MISSING_ID = 2
N_FULL_DUPLICATES = 2
N_RESUBMITTED = 1
BAD_DATES = ("31/02/2024x", "2024-13-07")


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class Product:
    """A catalog product: display name, the short noun reviews use, page variants."""

    name: str
    noun: str
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProductLine:
    """Products that share what reviewers say about them (boots and socks, tents and mats)."""

    products: tuple[Product, ...]
    attributes: tuple[str, ...]
    uses: tuple[str, ...]  # read after "for": "Perfect for {use}."
    praises: tuple[str, ...]  # past-tense verb phrases: "The {noun} {praise}."
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    """One shop department: its product lines, search queries and typical order-line prices."""

    slug: str
    name: str
    weight: float  # share of customers with this primary interest
    price: tuple[float, float]
    lines: tuple[ProductLine, ...]
    queries: tuple[str, ...]
    extras: tuple[str, ...]  # stand-alone sentences that fit any product of the category

    @property
    def products(self) -> tuple[Product, ...]:
        """Every product of every line."""
        return tuple(product for line in self.lines for product in line.products)

    def line_of(self, product: Product) -> ProductLine:
        """The product line ``product`` belongs to."""
        return next(line for line in self.lines if product in line.products)


def _items(text: str) -> tuple[str, ...]:
    """Split a ``;``-separated vocabulary string into items with normalised whitespace."""
    return tuple(" ".join(item.split()) for item in text.split(";") if item.strip())


def _products(text: str) -> tuple[Product, ...]:
    """Parse ``name|noun|variant,variant; ...`` into products."""
    products = []
    for item in _items(text):
        name, noun, *rest = (part.strip() for part in item.split("|"))
        variants = tuple(v.strip() for v in rest[0].split(",")) if rest else ()
        products.append(Product(name, noun, variants))
    return tuple(products)


def _line(products: str, attributes: str, uses: str, praises: str, problems: str) -> ProductLine:
    """Build a :class:`ProductLine` from ``;``-separated vocabulary strings."""
    return ProductLine(_products(products), _items(attributes), _items(uses), _items(praises), _items(problems))


CATEGORIES: tuple[Category, ...] = (
    Category("kitchen", "Kitchen & Cooking", 0.19, (8.0, 320.0), lines=(
        _line("""Cast Iron Skillet 28 cm|skillet; Non-Stick Frying Pan|pan|24 cm,28 cm;
                 Stainless Steel Cookware Set|pans|5-Piece,10-Piece; Enamelled Dutch Oven 5.5 L|Dutch oven|Red,Blue""",
              "handle; heat distribution; weight; lid; base; rivets; finish",
              """Sunday roasts; weeknight stir fries; searing steaks; slow-cooked stews; pancakes on Saturday mornings;
                 cooking for a crowd""",
              """heated evenly across the whole surface; browned the chicken perfectly; went straight from hob to oven
                 without a problem; cleaned up in seconds; worked perfectly on our induction hob;
                 held the heat really well""",
              """warped on the induction hob; got far too hot at the handle; burned everything in the middle;
                 arrived with a dent in the rim; discoloured after the first use; started sticking within weeks"""),
        _line("""Chef's Knife 20 cm|knife; Japanese Santoku Knife|knife; Serrated Bread Knife|bread knife;
                 Paring Knife Set|knives|Set of 3""",
              "edge; blade; handle; balance; weight; grip",
              "meal prep; chopping vegetables; carving the Sunday roast; slicing sourdough; curry nights",
              """cut through tomatoes like butter; stayed razor sharp for months; made chopping onions a pleasure;
                 felt perfectly balanced in the hand; saved me so much prep time""",
              """went blunt within a month; rusted after one wash; chipped on the first squash;
                 came with a loose handle;
                 arrived scratched along the blade"""),
        _line("Stand Mixer|mixer|Cream,Black; Hand Mixer|mixer; Bread Maker|bread maker",
              "mixing bowl; attachments; motor; speed settings; noise level; controls",
              "baking bread; Christmas baking; birthday cakes; weekend bakes with the kids; pizza dough",
              """kneaded dough in minutes; turned out a perfect loaf; made weekend baking so much easier;
                 handled heavy dough without straining; took the hard work out of baking""",
              """stopped working after two bakes; rattled loudly on the worktop; overheated with stiff dough;
                 smelled of burning the first time; broke a paddle in the first week"""),
        _line("""Glass Food Storage Containers|containers|Set of 5; Bamboo Cutting Board Set|boards|Set of 3;
                 Silicone Baking Mat Set|baking mats; Stainless Steel Mixing Bowls|bowls|Set of 4""",
              "sizes; build quality; finish; dishwasher safety; thickness",
              "meal prep; batch cooking for the week; packed lunches; everyday cooking; baking at the weekend",
              """survived the dishwasher without a mark; felt really well made; earned a permanent place in the kitchen;
                 made meal prep much tidier; looked great on the worktop""",
              """cracked after a few weeks; stained badly after the first use; warped in the dishwasher;
                 smelled of plastic for weeks; arrived with a chip in one corner"""),
    ), queries=_items("""cast iron skillet; chef knife; non stick pan induction; dutch oven; stand mixer; bread maker;
        santoku knife; bamboo chopping board; silicone baking mat; glass food containers; stainless cookware set;
        mixing bowls set"""),
        extras=_items("""I cook most nights for a family of five.; My mum has had the same one for twenty years.;
        Made a lasagne the first night we had it.; Our kitchen is tiny so size matters.;
        Cooking from scratch is my favourite part of the day.; Handy for anyone who loves to cook and bake.;
        It has made cooking dinner a lot less stressful.; Looks smart in the kitchen too.""")),
    Category("outdoor", "Outdoor & Hiking", 0.16, (12.0, 260.0), lines=(
        _line("""Waterproof Hiking Boots|boots|Men's,Women's; Lightweight Trail Shoes|trail shoes|Men's,Women's;
                 Leather Walking Boots|boots|Men's,Women's""",
              "ankle support; grip on wet rock; waterproof membrane; tread; lacing; cushioning; sizing",
              """day hikes; hill walking in the rain; scrambling in the Lake District; rainy autumn walks;
                 the West Highland Way; muddy dog walks""",
              """kept my feet completely dry; felt comfortable straight out of the box; gave great traction on muddy
                 trails; survived a week of heavy rain; stopped the blisters I always used to get""",
              """started leaking at the toe after a month; gave me blisters on the first hike; lost all grip on wet
                 rock; wore through at the heel within weeks; came up half a size small"""),
        _line("""3-Season Backpacking Tent|tent|2-Person,3-Person; Ultralight 1-Person Tent|tent;
                 Family Camping Tent|tent|6-Person""",
              "pack size; seams; zips; guylines; ventilation; porch space; pegs",
              """weekend camping trips; wild camping; backpacking with my partner; family camping at the lake;
                 festival season""",
              """held up in strong wind on the ridge; pitched in under five minutes; packed down smaller than expected;
                 stayed bone dry through a night of storms; gave us loads of room for the kit""",
              """let water in at the seams; had a zip that jammed constantly; filled with condensation overnight;
                 snapped a pole on the second night; weighed far more than listed"""),
        _line("""Down Sleeping Bag|sleeping bag|Regular,Long; Synthetic Sleeping Bag|sleeping bag;
                 Self-Inflating Sleeping Mat|mat|Regular,Wide; Inflatable Camping Pillow|pillow""",
              "warmth; pack size; stuff sack; weight; comfort; stitching",
              "wild camping; multi-day treks; weekend camping trips; cold nights in the van",
              """kept me warm down to minus five; packed down smaller than expected; gave me a proper night's sleep in
                 the tent; weighed next to nothing in the pack""",
              """left me shivering by three in the morning; would not fit back into the bag; came apart at the
                 stitching; went flat every night"""),
        _line("45 L Trekking Backpack|backpack|Grey,Forest Green; 25 L Daypack|daypack|Black,Orange",
              "hip belt; shoulder straps; back ventilation; pockets; rain cover; zips",
              "day hikes; multi-day treks; the West Highland Way; early morning summit walks; a trip to the Dolomites",
              """carried everything for three days without sore shoulders; kept my back cool on hot climbs;
                 swallowed all the kit for a weekend; sat comfortably even when fully loaded""",
              """dug into my shoulders after an hour; lost a buckle on the trail; let rain soak straight through;
                 tore at the seam on the first trip"""),
        _line("Rechargeable Headlamp 400 Lumen|headlamp; Camping Lantern|lantern",
              "beam; battery life; brightness settings; charging port; build quality",
              "wild camping; early morning summit walks; family camping at the lake; winter evenings at the campsite",
              """lit up the whole campsite; lasted three nights on one charge; stayed bright even in the cold;
                 charged quickly from a power bank""",
              """died halfway through the night; flickered in the cold; let rain into the charging port;
                 broke on the first drop"""),
        _line("""Compact Camping Stove|stove; Titanium Camping Mug|mug|450 ml; Insulated Water Bottle|bottle|750 ml,1 L;
                 Carbon Trekking Poles|poles|Pair""",
              "weight; build quality; size; finish",
              "wild camping; day hikes; multi-day treks; early morning summit walks",
              """weighed next to nothing in the pack; survived being dropped on rocks; earned a permanent place in
                 my kit; coped with everything the hills threw at me""",
              """dented on the first drop; rattled with every step; broke on the second trip;
                 felt flimsy from day one"""),
        _line("Packable Rain Jacket|jacket|Men's,Women's; Softshell Jacket|jacket|Men's,Women's",
              "hood; zips; breathability; fit; pockets",
              "hill walking in the rain; day hikes; rainy autumn walks; the West Highland Way; the commute",
              """kept me dry in a proper downpour; packed down to the size of an apple; breathed well on steep climbs;
                 blocked the wind on the summit""",
              """wetted out within an hour of rain; had a hood that blew off in any wind; came up tight across the
                 shoulders; rustled loudly with every step"""),
    ), queries=_items("""waterproof hiking boots; lightweight tent 2 person; carbon trekking poles;
        3 season sleeping bag;
        packable rain jacket; camping stove gas; hiking backpack 45l; rechargeable headlamp; walking boots leather;
        trail shoes wide fit; titanium mug; tent footprint"""),
        extras=_items("""Took it up Snowdon last weekend.; Our scout group now has six of these.;
        Ideal for anyone who walks in the hills.; We spend most weekends out on the trails.;
        Did 20 miles of hiking in the Peak District with it.; Essential kit for camping and hiking.;
        Used it on a wet week of camping in Scotland.; Great for hikers on a budget.""")),
    Category("beauty", "Skincare & Beauty", 0.15, (6.0, 70.0), lines=(
        _line("""Hyaluronic Acid Serum 30 ml|serum; Vitamin C Brightening Serum|serum;
                 Night Repair Moisturiser|moisturiser; Retinol Eye Cream|eye cream""",
              "texture; scent; absorption; finish; ingredient list; packaging",
              "my sensitive skin; dry patches in winter; my morning routine; combination skin; dark circles",
              """sank in quickly without feeling greasy; left my skin soft and glowing; sat nicely under makeup;
                 made my fine lines less noticeable; plumped up my dry skin; calmed the redness on my cheeks""",
              """broke me out in spots; stung around my eyes; pilled under my foundation; went off within weeks;
                 felt sticky for hours; caused a rash on my neck"""),
        _line("Mineral Sunscreen SPF 50|sunscreen|50 ml,100 ml; Tinted Daily SPF 30 Fluid|sunscreen",
              "white cast; texture; scent; finish; tube",
              "holiday sun protection; everyday wear; my morning routine; running in summer; long days in the garden",
              """left no white cast at all; sat nicely under makeup; lasted all day at the beach without burning;
                 stayed out of my eyes even when sweating""",
              """left a white cast on my skin; stung my eyes badly; felt greasy all day; pilled under my foundation"""),
        _line("""Gentle Foaming Cleanser|cleanser; Micellar Cleansing Water|micellar water|400 ml;
                 Exfoliating Toner|toner; Purifying Clay Face Mask|mask""",
              "scent; consistency; packaging; fragrance; ingredient list",
              """my evening skincare routine; acne-prone skin; oily skin in summer; my teenage daughter's breakouts;
                 taking off makeup""",
              """cleared up my breakouts within two weeks; left my skin clean but not tight; smelled lovely without
                 being overpowering; shrank the look of my pores; calmed my skin after a long day""",
              """dried out my skin badly; smelled strongly of alcohol; caused a rash on my neck; stung like mad;
                 left a greasy film behind"""),
        _line("Makeup Brush Set|brushes|12-Piece; Beauty Blender Sponges|sponges|4-Pack",
              "softness; shape; density; quality; case",
              "everyday makeup; a wedding; evening makeup; travelling",
              """blended foundation beautifully; washed up like new; gave a flawless airbrushed finish;
                 made my makeup look far more professional""",
              """shed everywhere after one wash; soaked up half my foundation; fell apart within a week;
                 smelled of glue"""),
        _line("Argan Hair Oil|hair oil; Repair Hair Mask|hair mask; Sulphate-Free Shampoo|shampoo|250 ml,500 ml",
              "scent; texture; consistency; packaging",
              "frizzy hair; bleached hair; curly hair; my daughter's long hair",
              """tamed my frizz completely; left my hair soft and shiny; made my curls look defined;
                 repaired my bleached ends""",
              """left my hair greasy; made my scalp itch; weighed my hair down; smelled like cheap perfume"""),
    ), queries=_items("""hyaluronic acid serum; vitamin c serum; spf 50 face sunscreen; cleanser for sensitive skin;
        retinol eye cream; night moisturiser; clay face mask; makeup brushes; micellar water; sulphate free shampoo;
        exfoliating toner; argan hair oil"""),
        extras=_items("""My dermatologist recommended this brand.; I have very sensitive skin.; Patch test first.;
        A little goes a long way.; My skin has honestly never looked better.;
        It is now a staple of my skincare routine.;
        Fragrance free, which my skin needs.; Cruelty free and vegan, which matters to me.""")),
    Category("pets", "Pets", 0.14, (5.0, 95.0), lines=(
        _line("""Grain-Free Dog Food 12 kg|dog food|Chicken,Salmon; Puppy Food 6 kg|puppy food;
                 Dental Chews for Dogs|chews|28-Pack; Training Treats|treats|Chicken,Duck""",
              "kibble size; ingredients; smell; packaging; price per kilo",
              "our Labrador; a very fussy beagle; our senior spaniel; the new puppy; our greyhound; puppy training",
              """settled our dog's sensitive stomach; got wolfed down in seconds; gave our old dog a shiny coat;
                 went down well with both our dogs""",
              """gave our dog an upset stomach; got turned down by our dog completely; smelled awful;
                 came in a bag that split in the post; changed recipe without warning"""),
        _line("Orthopedic Dog Bed|dog bed|Medium,Large; Calming Donut Dog Bed|dog bed|Small,Medium",
              "cushion; stitching; washable cover; size; base",
              "our Labrador; our senior spaniel; a very anxious beagle; our collie after surgery; the dog's crate",
              """got the dog sleeping through the night; got our old dog moving more comfortably;
                 washed beautifully and kept the shape; became his favourite spot instantly""",
              """got shredded by the puppy in a day; went lumpy after one wash; came apart at the seams;
                 went flat within a month"""),
        _line("Dog Grooming Brush|brush; Deshedding Tool|deshedding tool; Pet Nail Clippers|clippers",
              "pins; handle; grip; blade",
              "our husky; a long-haired cat; our retriever in moulting season; two fluffy cats",
              """removed loads of loose fur; made grooming a calm five minutes;
                 cut down the hair on the sofa massively""",
              """scratched our dog's skin; clogged after every stroke; broke at the handle; pulled at the fur"""),
        _line("""No-Pull Dog Harness|harness|S,M,L; Retractable Dog Lead 5 m|lead;
                 Reflective Dog Collar|collar|S,M,L""",
              "clip; buckles; padding; sizing; reflective strip",
              """long walks in the park; our Labrador; a very strong terrier; the new puppy; muddy dog walks;
                 dark winter evenings""",
              """stopped the pulling on walks almost immediately; fitted our dog perfectly; stayed comfortable on long
                 walks; made night walks feel much safer""",
              """snapped at the clip mid walk; came up far too small despite the size guide; rubbed our dog's skin raw;
                 faded and frayed within weeks"""),
        _line("Self-Cleaning Litter Box|litter box; Clumping Cat Litter 10 L|litter; Litter Mat|litter mat",
              "smell control; clumping; dust; size; cleaning",
              "two rescue cats; the new kitten; our indoor cats; a small flat",
              """kept the smell under control; made cleaning out so much quicker; got used by the cats straight away""",
              """tracked litter all over the house; got ignored by both cats; smelled after two days;
                 threw up clouds of dust"""),
        _line("Tall Cat Scratching Post|scratching post; Interactive Cat Toy|toy; Cat Tunnel|tunnel",
              "stability; scratching surface; size; materials",
              "two rescue cats; the new kitten; a bored indoor cat; a fussy Persian cat",
              """won over our very fussy cat; kept both cats busy for hours; saved the sofa from the claws""",
              """got ignored by both cats; wobbled whenever the cat climbed up; fell apart within a week"""),
        _line("Automatic Pet Feeder|feeder; Pet Water Fountain|fountain",
              "filter; portion settings; noise level; app; capacity",
              "the cats while we are away; our indoor cats; a greedy Labrador; long days at the office",
              """made mealtimes stress free; got our cat drinking more water; kept to the schedule perfectly""",
              """jammed and missed two meals; hummed loudly all night; leaked onto the floor; clogged within a week"""),
    ), queries=_items("""grain free dog food; orthopedic dog bed large; tall cat scratching post; no pull dog harness;
        clumping cat litter; automatic cat feeder; pet water fountain; dog grooming brush; retractable dog lead;
        dog dental chews; puppy food; interactive cat toy"""),
        extras=_items("""Our vet suggested switching brands.; Our pets are part of the family.;
        We have two cats and a very lively dog.; Bought a second one for our other pet.;
        The dog goes mad for it.; Our cat is very picky but she loves it.; Great for puppies and older dogs alike.;
        Anything that keeps the pets happy keeps us happy.""")),
    Category("audio", "Home Audio & Electronics", 0.11, (9.0, 380.0), lines=(
        _line("""Noise-Cancelling Headphones|headphones|Black,Silver; Studio Monitor Headphones|headphones;
                 True Wireless Earbuds|earbuds|Black,White""",
              "noise cancelling; battery life; ear cushions; microphone; pairing; bass; app",
              "my daily commute; video calls; working from home; long flights; late night gaming",
              """blocked out the train noise completely; lasted a full week on one charge; paired with my phone
                 instantly; sounded far better than the price suggests; stayed comfortable through long calls""",
              """kept dropping the Bluetooth connection; developed a crackle in the left channel; lost half the battery
                 life within weeks; hissed when nothing was playing; needed a firmware update before pairing"""),
        _line("""Bluetooth Bookshelf Speakers|speakers|Pair; Soundbar with Subwoofer|soundbar;
                 Portable Bluetooth Speaker|speaker|Blue,Black""",
              "bass; treble; sound stage; volume; connectivity",
              "movie nights; the living room TV; podcasts while I cook; parties in the garden; the bedroom",
              """filled the whole room with warm sound; made voices crystal clear; gave deep punchy bass without
                 distortion; paired with the TV and my phone in seconds""",
              """buzzed constantly at low volume; dropped out whenever I left the room; crackled at high volume;
                 died after three months"""),
        _line("""Turntable with Built-In Preamp|turntable; Streaming Amplifier|amplifier;
                 Moving Magnet Cartridge|cartridge""",
              "sound stage; warmth; hum; build quality; connectivity",
              "listening to vinyl; my record collection; Sunday afternoons with a record on; the hi-fi corner",
              """made my old records sound amazing; brought out detail I had never heard before; sounded warm and open;
                 went together in under half an hour""",
              """hummed through the speakers constantly; ran slightly fast; buzzed whenever the fridge switched on;
                 arrived with a bent part in the box"""),
        _line("Smart Plug|smart plugs|2-Pack; Smart LED Bulbs|bulbs|4-Pack; 4K Streaming Stick|streaming stick",
              "app; setup; wifi range; voice control; firmware",
              "the living room; the bedroom; the home office; movie nights",
              """set up in five minutes through the app; worked with our voice assistant straight away;
                 never dropped off the wifi""",
              """dropped off the wifi every night; needed resetting every few days; lost all settings after an update;
                 made the app crash constantly"""),
        _line("""USB-C Charging Hub|hub; Wireless Charging Pad|charger; Fast Charging Power Bank|power bank""",
              "charging speed; ports; cable length; build quality; size",
              "the home office; travelling; working from home; my bedside table; long train journeys",
              """charged my phone faster than the original; kept my laptop and phone topped up all day;
                 worked with every device I tried""",
              """overheated and shut off; stopped being recognised after a week; charged painfully slowly;
                 got too hot to touch"""),
    ), queries=_items("""noise cancelling headphones; bluetooth bookshelf speakers; soundbar with subwoofer;
        waterproof portable speaker; turntable; streaming amplifier; smart bulbs; wireless earbuds; usb c hub;
        smart plug; 4k streaming stick; power bank"""),
        extras=_items("""Running it through the app's equaliser helps a lot.; Works with our old TV without any
        trouble.; I'm a bit of a hi-fi nerd so I'm fussy.; Works fine with both Android and iPhone.;
        Sound quality is excellent for the money.; Bluetooth pairing was painless.;
        Plugged it in and it just worked.; Great for music and films.""")),
    Category("fitness", "Running & Fitness", 0.10, (7.0, 280.0), lines=(
        _line("""Cushioned Road Running Shoes|running shoes|Men's,Women's;
                 Trail Running Shoes|trail running shoes|Men's,Women's""",
              "cushioning; heel drop; toe box; grip; fit; sizing",
              "marathon training; my morning 5k; half marathon prep; long Sunday runs; parkrun on Saturdays",
              """felt light and bouncy on long runs; helped me knock two minutes off my 10k time; coped with 60 km
                 weeks easily; fitted my wide feet perfectly""",
              """gave me shin pain after a week; rubbed my heel raw; split along the sole after 200 km;
                 came up very narrow"""),
        _line("GPS Running Watch|watch; Fitness Tracker Band|tracker",
              "GPS accuracy; heart rate sensor; battery life; strap; app",
              "marathon training; interval sessions; tracking my sleep; my morning 5k",
              """tracked my pace accurately; lasted a whole week of training on one charge; synced with the app
                 instantly""",
              """lost GPS signal under trees; showed heart rate readings that were all over the place; gave me a rash
                 under the strap; stopped syncing after an update"""),
        _line("""Compression Running Tights|tights|Men's,Women's; Running Hydration Vest|vest;
                 Sweat-Wicking Running Top|top|Men's,Women's""",
              "fit; pockets; waistband; breathability; seams",
              "long Sunday runs; half marathon prep; hot summer runs; marathon training",
              """stayed put during sprints; kept me cool on hot runs; carried my phone and gels without bouncing""",
              """rubbed under the arms; went see-through when stretched; started smelling after a few washes;
                 bounced around on every stride"""),
        _line("""Adjustable Dumbbell Set|dumbbells|2 x 24 kg; Cast Iron Kettlebell 16 kg|kettlebell;
                 Doorway Pull-Up Bar|pull-up bar""",
              "handles; grip; build quality; weight range; finish",
              "home workouts; strength training at home; leg day; a garage gym; my lunchtime workout",
              """made home workouts actually enjoyable; replaced my gym membership; felt rock solid every session;
                 took up hardly any space""",
              """rattled loose after a month; chipped on the first drop; slipped out of the door
                 frame; left black marks on my hands"""),
        _line("Resistance Bands Set|bands|5-Pack; Speed Skipping Rope|rope",
              "handles; resistance levels; length; grip",
              "HIIT classes; travel workouts; warm-ups; physio exercises",
              """made HIIT at home so easy; fitted in my bag for travel workouts; felt great quality for the price""",
              """snapped mid workout; tangled constantly; lost all stretch within weeks"""),
        _line("Non-Slip Yoga Mat|yoga mat|6 mm,Purple; Cork Yoga Block|block|Pair",
              "grip; thickness; cushioning; smell; size",
              "yoga twice a week; Pilates; stretching after runs; morning stretches",
              """never slipped even during hot yoga; cushioned my knees nicely; stayed put on a wooden floor""",
              """slipped on the floor during planks; left a rubber smell in the room; started flaking after a month"""),
        _line("Foam Roller|foam roller; Massage Gun|massage gun",
              "firmness; size; grip; build quality",
              "recovery after leg day; long runs; tight hamstrings; post-marathon recovery",
              """eased my sore calves after long runs; sorted out my tight hamstrings; got me back running after
                 injury""",
              """felt far too soft to do anything; rattled like mad; died after a month"""),
        _line("Wireless Sport Earbuds|earbuds",
              "fit; sweat resistance; battery life; ear hooks",
              "the gym; my morning 5k; treadmill sessions; HIIT classes",
              """stayed in my ears through every workout; survived months of sweaty sessions""",
              """fell out of my ears on every run; stopped charging after getting sweaty"""),
    ), queries=_items("""cushioned running shoes; adjustable dumbbells; non slip yoga mat; resistance bands;
        gps running watch; foam roller; sport earbuds; kettlebell 16kg; running hydration vest; doorway pull up bar;
        compression tights; trail running shoes"""),
        extras=_items("""Training for my first marathon in April.; I work out five days a week.;
        My physio recommended it.; Part of my new year fitness plan.; I run about 40 km a week.;
        Essential for anyone training at home.; Used it for every workout this month.;
        Helped me get fitter than ever.""")),
    Category("coffee", "Coffee & Tea", 0.08, (5.0, 450.0), lines=(
        _line("Conical Burr Coffee Grinder|grinder; Hand Coffee Grinder|grinder",
              "grind consistency; burrs; settings; noise; hopper",
              "espresso at home; pour-over at the weekend; my morning flat white; camping trips",
              """ground evenly from espresso to French press; made a huge difference to my coffee;
                 barely made any mess""",
              """produced a lot of fines and static; jammed on dark roasts; sounded unbearably loud"""),
        _line("Espresso Machine with Steam Wand|espresso machine; Bean-to-Cup Coffee Machine|coffee machine",
              "steam wand; portafilter; temperature control; water tank; pressure gauge",
              "my morning flat white; my daily cappuccino; espresso at home; the office kitchen",
              """pulled a rich crema every time; frothed milk like a proper café; made me give up the coffee shop;
                 heated up in under a minute""",
              """leaked water from the group head; stopped heating after a few weeks; clogged after a handful of brews;
                 made a grinding noise from day one"""),
        _line("Gooseneck Pour-Over Kettle|kettle; Electric Gooseneck Kettle|kettle",
              "pour spout; temperature control; handle; lid",
              "pour-over at the weekend; green tea at the right temperature; a proper cup before work",
              """poured with perfect control; held the temperature exactly; boiled really quickly""",
              """dripped down the side when pouring; stopped heating after a few weeks; got too hot at the handle"""),
        _line("""French Press 1 L|French press; Ceramic Pour-Over Dripper|dripper;
                 Cold Brew Coffee Maker|cold brew maker""",
              "brewing time; lid; filter; capacity; glass",
              "cold brew in summer; pour-over at the weekend; lazy Sunday brunches; guests after dinner",
              """brewed a clean cup with no bitterness; made the smoothest coffee I've had at home;
                 made a full pot for the whole family""",
              """left grounds in every cup; dripped everywhere from the lid; cracked after a few weeks"""),
        _line("""Ethiopian Single Origin Coffee Beans|beans|250 g,1 kg; Colombian Medium Roast Beans|beans|1 kg;
                 Decaf Swiss Water Beans|beans|500 g""",
              "roast; aroma; acidity; flavour notes; roast date; bag",
              "espresso at home; my morning flat white; trying new single origins; pour-over at the weekend",
              """brought out lovely chocolate and cherry notes; tasted fresh and well roasted; smelled amazing the
                 moment I opened the bag; made a sweet, balanced espresso""",
              """tasted stale and burnt; came roasted months ago; made a bitter cup whatever the grind;
                 arrived in a split bag"""),
        _line("""Loose Leaf Earl Grey Tea|tea|100 g; Japanese Sencha Green Tea|green tea|100 g;
                 Chamomile Herbal Tea|herbal tea|40 Bags""",
              "aroma; flavour; leaves; tin; strength",
              "afternoon tea; my evening cup; a quiet Sunday morning; guests after dinner",
              """brewed a fragrant cup with no bitterness; made afternoon tea feel special; stood up to a second
                 steeping""",
              """turned out to be mostly dust and broken leaves; tasted of nothing at all; went bitter within a minute;
                 arrived in a crushed tin"""),
    ), queries=_items("""burr coffee grinder; gooseneck kettle; home espresso machine; french press;
        ethiopian coffee beans; medium roast coffee beans; earl grey loose leaf; sencha green tea; pour over dripper;
        decaf coffee beans; bean to cup machine; cold brew maker"""),
        extras=_items("""I drink about four cups a day.; Dial in the grind and it's fantastic.;
        Pairs really well with oat milk.; Our whole office is hooked now.; Coffee at home has never tasted so good.;
        A must for any coffee lover.; I am a proper tea snob and this passes.;
        Makes my morning coffee ritual a joy.""")),
    Category("garden", "Gardening", 0.07, (4.0, 180.0), lines=(
        _line("Ergonomic Pruning Shears|secateurs; Bypass Loppers|loppers; Folding Pruning Saw|saw",
              "blades; grip; handles; weight; cutting capacity",
              "pruning roses; clearing brambles; the fruit trees; the allotment; tidying the hedges",
              """cut through thick branches cleanly; made light work of the old apple tree; stayed sharp all season""",
              """rusted after one season; bent on the first thick branch; went blunt within weeks;
                 pinched my hand every time"""),
        _line("Cordless Hedge Trimmer|hedge trimmer; Cordless Leaf Blower|leaf blower; Electric Lawn Mower|mower",
              "battery; weight; noise level; handle; power",
              "hedge cutting in spring; autumn leaves; the front lawn; a big garden",
              """did the whole garden on one charge; felt light enough to use for an hour; started first time every
                 time""",
              """barely lasted ten minutes on a charge; cut out halfway through the job; felt far too heavy to use for
                 long; rattled apart within a season"""),
        _line("""Organic Tomato Seed Collection|seeds|10 Varieties; Wildflower Seed Mix|seeds;
                 Spring Flower Bulbs|bulbs|50-Pack""",
              "germination rate; variety; packaging; instructions",
              "the vegetable patch; the greenhouse; a new flower border; the allotment; the front garden",
              """came up beautifully; filled the border with colour all summer; came true to the picture""",
              """never came up at all; arrived mouldy; turned out to be a different variety; came up patchy at best"""),
        _line("""Peat-Free Compost 50 L|compost; Slow-Release Plant Food|plant food;
                 Organic Seaweed Feed|seaweed feed""",
              "texture; smell; packaging; price per litre",
              "the greenhouse; pots on the patio; hanging baskets; growing tomatoes; the herb garden",
              """got my seedlings off to a strong start; perked the tomatoes up within days; kept the containers
                 flowering all summer""",
              """arrived full of stones and plastic; arrived bone dry and lumpy; grew mould on the surface;
                 made no difference at all"""),
        _line("Heavy-Duty Garden Hose 30 m|hose; Hose Reel Cart|hose reel; Spray Gun Nozzle|spray gun",
              "fittings; nozzle; length; handle; flow",
              "watering hanging baskets; the vegetable patch; the allotment; washing the car; the patio pots",
              """reached the far end of the garden easily; never kinked once; made watering the pots quick""",
              """kinked every few metres; leaked at the connector; cracked in the sun; sprayed me every time"""),
        _line("""Raised Garden Bed Kit|raised bed|120 x 60 cm; Rotating Compost Bin|compost bin;
                 Wooden Planter Box|planter""",
              "planks; fixings; instructions; drainage; size",
              "the vegetable patch; our small balcony; the patio; the allotment",
              """went together in under an hour; looked great on the patio; made growing veg so much easier on my
                 back""",
              """split at the corners after the first winter; arrived with missing screws; warped in the rain;
                 had holes that did not line up"""),
        _line("Leather Gardening Gloves|gloves|M,L; Thorn-Proof Gauntlets|gauntlets|M,L",
              "thorn protection; fit; grip; cuffs",
              "pruning roses; clearing brambles; weeding; the allotment",
              """kept my hands free of thorns; stayed comfortable all day; survived a whole season of weeding""",
              """let thorns straight through; split at the fingertips; came up far too big"""),
    ), queries=_items("""pruning shears; raised garden bed; garden hose 30m; tomato seeds; peat free compost;
        loppers; cordless leaf blower; thorn proof gardening gloves; cordless hedge trimmer; wildflower seeds;
        compost bin; spring bulbs"""),
        extras=_items("""Our allotment is on heavy clay.; I spend every spare minute in the garden.;
        The roses have never looked better.; Planted everything out after the last frost.;
        The garden has never looked so good.; Great for anyone with a vegetable plot.;
        My neighbour asked where I got it.; Essential for any gardener.""")),
)
BY_SLUG = {category.slug: category for category in CATEGORIES}

# --------------------------------------------------------------------------- review templates

OPENERS = _items("""Bought the {product} last month.; Ordered the {product} after reading the reviews.;
    Got the {product} in the sale.; I've had the {product} for {weeks} weeks now.;
    Picked up the {product} to replace an old one.""")
TOPICAL = {
    "pos": _items("""The {n} {praise}.; Used {them} for {use} and {it} {praise}.; Love the {a}.;
        Really impressed with the {a} and the {a2}.; Perfect for {use}.; Bought {them} for {use} and {it} {praise}.;
        Best {n} I have bought.; {Weeks} weeks in and I'm still happy with the {n}.; The {a} {is} spot on.;
        Great {a}, and {it} {praise}."""),
    "mixed": _items("""The {a} {is} fine but the {a2} could be better.; Does the job for {use}, nothing more.;
        Decent {n} for {use}, although the {a} {is} a bit disappointing.; The {n} {praise}, but {it} also {problem}.;
        Okay for {use}.; Not sure about the {a} yet."""),
    "neg": _items("""The {n} {problem}.; Bought {them} for {use} but {it} {problem}.; Really disappointed with the {a}.;
        The {a} {is} poor for the price.; Would not recommend {this} for {use}.;
        Returned {them} because {it} {problem}.;
        After a few weeks of use, {it} {problem}."""),
}
GENERIC = {
    "pos": _items("""Delivery was quick and the parcel was well packed.; Arrived the next day.;
        Great price compared to other shops.; Customer service was really helpful when I changed my order.;
        Would definitely buy again.; Highly recommend this shop.; Five stars.; Good quality for the money.;
        Exactly as described on the website.; Came in recyclable packaging, which I appreciate.;
        Ordered on Monday, arrived on Wednesday.; Really pleased with my purchase.; Excellent value.;
        Will be ordering more soon.; Thanks Example Shop!; Love it.; Brilliant product, no complaints.;
        Great quality and fast shipping.; Bought this as a gift and it went down really well."""),
    "mixed": _items("""It does the job.; Nothing special but it works.; Delivery was a day later than promised.;
        Average quality for the price.; The instructions could be clearer.; Packaging was a bit over the top.;
        Not bad, not amazing.; Took a while to arrive.; Fine for the price.;
        Might buy again if it was on offer.; Quality is okay I suppose."""),
    "neg": _items("""Delivery took almost three weeks.; The box arrived crushed and damp.;
        Way overpriced for what you get.; Customer service never replied to my emails.;
        Had to send it back and I'm still waiting for the refund.; Would not buy again.;
        Nothing like the photos on the website.; Cheap and flimsy.; Complete waste of money.;
        Very poor quality control.; The courier left it out in the rain.; Part of the order was missing."""),
}
THIN = {
    "pos": _items("""Good {n}, arrived really quickly.; Happy with the {n} so far.; Great {n}, would buy again.;
        Fast delivery, thank you very much."""),
    "mixed": _items("""The {n} {is} fine for the price.; Decent {n}, nothing special.; It is okay I guess."""),
    "neg": _items("""Not impressed with the {n} at all.; Poor quality, sent it back."""),
}
EMOJI = {"pos": ("😍", "👍", "🔥", "❤️", "🙌"), "mixed": ("🙂", "🤷", "😐"), "neg": ("😡", "👎", "😞")}
CONTACT_NOISE = (
    "Photos here: https://imgur.com/a/xY7kq2",
    "More on my blog https://www.myhomefinds.blog/reviews",
    "Contact me at jane.doe84@example.com if you have questions.",
    "Support (help@shop.example.com) sorted it in the end.",
    "Compare with https://shop.example.com/c/sale?ref=email",
)
WEEKS = ("two", "three", "four", "six", "eight")

# --------------------------------------------------------------------------- browsing and orders

GENERIC_PAGES = (
    ("/", "Example Shop – Home, Kitchen, Garden & More"),
    ("/cart", "Your Basket | Example Shop"),
    ("/checkout", "Checkout | Example Shop"),
    ("/account/orders", "My Orders | Example Shop"),
    ("/sale", "Summer Sale – Up to 50% Off | Example Shop"),
    ("/help/delivery-returns", "Delivery & Returns | Example Shop"),
    ("/gift-cards", "Gift Cards | Example Shop"),
    ("/new-in", "New In | Example Shop"),
)
# Searches that say little about a department, or fit several ("gloves": oven, gardening, cycling).
VAGUE_QUERIES = _items("""gift ideas; gifts for him; gifts for her; birthday present; christmas gifts; sale;
    black friday deals; best sellers; new in; under 20; eco friendly; free delivery; gift card; waterproof;
    gloves; mat; bottle; kettle; brush; bag; set; wireless; organic; rechargeable; travel size; large""")
VAGUE_QUERY_SHARE = 0.35
REF_PARAMS = ("", "", "?ref=nav", "?ref=search", "?ref=recs", "?utm_source=newsletter&utm_medium=email")
VALUE_GROUP_WEIGHTS = {
    "champion": 0.10, "loyal": 0.22, "at_risk": 0.15, "new": 0.13, "occasional": 0.35, "no_orders": 0.05,
}


@dataclass(frozen=True)
class ValueRule:
    """How a value group orders: count, date window, guaranteed recent order, basket size, spend."""

    n_orders: tuple[int, int]
    window: tuple[date, date]
    recent_days: int | None  # the last order falls within this many days of END
    max_lines: int
    spend: float


VALUE_RULES = {
    "champion": ValueRule((8, 16), (START, END), 30, 3, 1.5),
    "loyal": ValueRule((4, 8), (date(2024, 3, 1), END), 90, 2, 1.0),
    "at_risk": ValueRule((5, 10), (START, date(2024, 9, 30)), None, 2, 1.1),
    "new": ValueRule((1, 1), (END - timedelta(days=45), END - timedelta(days=1)), None, 2, 1.0),
    "occasional": ValueRule((1, 2), (START, END - timedelta(days=120)), None, 1, 0.5),
}
# Text activity (reviews, browsing) follows the buying pattern: lapsed buyers went quiet too.
TEXT_WINDOWS = {
    "at_risk": (START, date(2024, 11, 30)),
    "new": (END - timedelta(days=75), END),
}
CANCELLED_SHARE = 0.04
REFUNDED_SHARE = 0.02


@dataclass
class Customer:
    """Planted ground truth for one customer."""

    customer_id: str
    interest: str
    secondary: str = ""
    secondary_share: float = 0.0
    value_group: str = "occasional"
    thin: bool = False
    order_only: bool = False

    @property
    def text_window(self) -> tuple[date, date]:
        """Dates between which this customer reviews and browses."""
        return TEXT_WINDOWS.get(self.value_group, (START, END))


# --------------------------------------------------------------------------- customers


def _allocate(n: int, weights: Sequence[float]) -> list[int]:
    """Split ``n`` into integer counts proportional to ``weights`` (largest remainder)."""
    total = sum(weights)
    raw = [n * w / total for w in weights]
    counts = [math.floor(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


def make_customers(rng: random.Random, n_customers: int) -> list[Customer]:
    """Draw ids, primary/secondary interests, value groups and thin / order-only flags."""
    numbers = sorted(rng.sample(range(1, 6 * n_customers), n_customers))
    slugs = [c.slug for c in CATEGORIES]
    interests = [s for s, k in zip(slugs, _allocate(n_customers, [c.weight for c in CATEGORIES])) for _ in range(k)]
    rng.shuffle(interests)
    groups = list(VALUE_GROUP_WEIGHTS)
    group_counts = _allocate(n_customers, list(VALUE_GROUP_WEIGHTS.values()))
    value_groups = [g for g, k in zip(groups, group_counts) for _ in range(k)]
    rng.shuffle(value_groups)
    customers = [Customer(f"C{num:05d}", interest, value_group=group)
                 for num, interest, group in zip(numbers, interests, value_groups)]
    order = list(range(n_customers))
    rng.shuffle(order)
    n_thin = round(THIN_SHARE * n_customers)
    for i in order[:n_thin]:
        customers[i].thin = True
    buyers = [i for i in order[n_thin:] if customers[i].value_group != "no_orders"]
    for i in buyers[:N_ORDER_ONLY]:
        customers[i].order_only = True
    _plant_secondary(rng, customers)
    return customers


def _plant_secondary(rng: random.Random, customers: list[Customer]) -> None:
    """Give about :data:`SECONDARY_SHARE` of the full-text customers a secondary interest."""
    for customer in customers:
        if customer.thin or customer.order_only or rng.random() >= SECONDARY_SHARE:
            continue
        others = [c for c in CATEGORIES if c.slug != customer.interest]
        customer.secondary = rng.choices(others, weights=[c.weight for c in others])[0].slug
        customer.secondary_share = rng.uniform(*SECONDARY_TEXT_SHARE)


def _topics(rng: random.Random, customer: Customer, n: int, other_share: float) -> list[str]:
    """Category of each of ``n`` texts: primary, a planted share of secondary, a few random others."""
    n_secondary = 0
    if customer.secondary:
        exact = customer.secondary_share * n
        n_secondary = math.floor(exact) + (rng.random() < exact - math.floor(exact))
    topics = [customer.secondary] * n_secondary + [customer.interest] * (n - n_secondary)
    for i in range(n):
        if rng.random() < other_share:
            topics[i] = rng.choice([c.slug for c in CATEGORIES if c.slug != customer.interest])
    rng.shuffle(topics)
    return topics


def _random_day(rng: random.Random, window: tuple[date, date]) -> date:
    """A uniformly random day in the closed ``window``."""
    return window[0] + timedelta(days=rng.randint(0, (window[1] - window[0]).days))


def _random_time(rng: random.Random, day: date) -> datetime:
    """A timestamp on ``day``, mostly between 07:00 and midnight."""
    hour = rng.choice((7, 8, 9, 12, 13, 17, 18, 19, 20, 20, 21, 21, 22, 23, 0, 10, 11, 14, 15, 16))
    return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59))


# --------------------------------------------------------------------------- reviews


def _is_plural(noun: str) -> bool:
    """Crude English plural test, enough for the catalog nouns and attributes."""
    return noun.endswith("s") and not noun.endswith("ss")


def _slots(rng: random.Random, category: Category, product: Product) -> dict[str, str]:
    """Values for every template placeholder, with verb and pronoun agreement."""
    line = category.line_of(product)
    plural = _is_plural(product.noun)
    attribute, attribute2 = rng.sample(line.attributes, 2)
    return {
        "product": product.name, "n": product.noun, "a": attribute, "a2": attribute2,
        "it": "they" if plural else "it", "them": "them" if plural else "it",
        "this": "these" if plural else "this",
        "is": "are" if _is_plural(attribute) else "is",
        "use": rng.choice(line.uses), "praise": rng.choice(line.praises),
        "problem": rng.choice(line.problems), "weeks": (weeks := rng.choice(WEEKS)), "Weeks": weeks.capitalize(),
    }


def _fill(rng: random.Random, template: str, category: Category, product: Product) -> str:
    """Fill one template and capitalise its first letter."""
    text = template.format(**_slots(rng, category, product))
    return text[0].upper() + text[1:]


def _sentiment(rating: int) -> str:
    """Sentiment bucket of a 1-5 star rating."""
    return "pos" if rating >= 4 else "mixed" if rating == 3 else "neg"


def review_text(rng: random.Random, category: Category, product: Product, rating: int) -> str:
    """A review of mostly 1-4 sentences (5-80 words) mixing product talk with generic shop chatter."""
    mood = _sentiment(rating)
    n_sentences = rng.choices(SENTENCE_COUNTS, weights=SENTENCE_COUNT_WEIGHTS)[0]
    generic = rng.sample(GENERIC[mood], 5)  # drawn without replacement: no sentence twice
    if rng.random() < GENERIC_REVIEW_SHARE:
        return _at_least_five_words([generic.pop(), generic.pop()], generic)
    topical = rng.sample(TOPICAL[mood], len(TOPICAL[mood]))
    sentences = [_fill(rng, rng.choice(OPENERS), category, product)] if rng.random() < 0.3 else []
    sentences.append(_fill(rng, topical.pop(), category, product))
    while len(sentences) < n_sentences:
        roll = rng.random()
        if roll < GENERIC_SENTENCE_SHARE and len(generic) > 1:
            sentences.append(generic.pop())
        elif roll < GENERIC_SENTENCE_SHARE + EXTRA_SENTENCE_SHARE:
            sentences.append(rng.choice(category.extras))
        else:
            sentences.append(_fill(rng, topical.pop(), category, product))
    if rng.random() < 0.5:
        rng.shuffle(sentences)
    return _at_least_five_words(list(dict.fromkeys(sentences)), generic)


def _at_least_five_words(sentences: list[str], spare: list[str]) -> str:
    """Join ``sentences``, adding spare generic ones while the review is shorter than five words."""
    while len(" ".join(sentences).split()) < 5:
        sentences.append(spare.pop())
    return " ".join(sentences)


def thin_text(rng: random.Random, category: Category, product: Product, rating: int) -> str:
    """The single short review of a thin customer."""
    return _fill(rng, rng.choice(THIN[_sentiment(rating)]), category, product)


def add_text_noise(rng: random.Random, text: str, rating: int) -> str:
    """Sometimes add HTML, capitals, emoji, a URL/e-mail, a line break or extra exclamation marks."""
    mood = _sentiment(rating)
    roll = rng.random()
    if roll < 0.06:
        text = _add_html(rng, text)
    elif roll < 0.085 and mood != "mixed":
        text = text.upper()
    elif roll < 0.14:
        emoji = rng.choice(EMOJI[mood])
        text = f"{text} {emoji}" if rng.random() < 0.7 else f"{emoji} {text}"
    elif roll < 0.155:
        text = f"{text} {rng.choice(CONTACT_NOISE)}"
    elif roll < 0.165 and ". " in text:
        text = text.replace(". ", ".\n", 1)
    elif roll < 0.25 and mood == "pos" and text.endswith("."):
        text = text[:-1] + rng.choice(("!", "!!", "!!!"))
    return text


def _add_html(rng: random.Random, text: str) -> str:
    """Leftovers of a web form: entities, ``<br>`` or a paragraph tag."""
    kind = rng.choice(("amp", "br", "apos", "p"))
    if kind == "amp" and " and " in text:
        return text.replace(" and ", " &amp; ", 1)
    if kind == "apos" and "'" in text:
        return text.replace("'", "&#39;")
    if kind in ("br", "amp") and ". " in text:
        return text.replace(". ", ".<br><br>" if rng.random() < 0.5 else ".<br/>", 1)
    return f"<p>{text}</p>"


def _pick_rating(rng: random.Random) -> int:
    """A star rating with the usual J-shaped distribution."""
    return rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]


def customer_reviews(rng: random.Random, customer: Customer) -> list[dict[str, str]]:
    """Review rows (without review ids) for one customer."""
    if customer.order_only:
        return []
    if customer.thin:
        topics = [customer.interest]
    else:
        n = rng.choices(range(1, 9), weights=REVIEW_COUNT_WEIGHTS)[0]
        topics = _topics(rng, customer, n, REVIEW_OTHER_SHARE)
    rows = []
    for slug in topics:
        category = BY_SLUG[slug]
        product = rng.choice(category.products)
        rating = _pick_rating(rng)
        make = thin_text if customer.thin else review_text
        text = add_text_noise(rng, make(rng, category, product, rating), rating)
        day = _random_day(rng, customer.text_window)
        rows.append({"customer_id": customer.customer_id, "review_id": "", "product": product.name,
                     "rating": str(rating), "timestamp": day.isoformat(), "text": text})
    return rows


def add_review_noise(rng: random.Random, rows: list[dict[str, str]], customers: list[Customer]) -> None:
    """Insert the deliberate reject rows: empty texts, missing ids, duplicates, bad dates."""
    regular = [c for c in customers if not c.thin and not c.order_only]
    for text in EMPTY_TEXTS:
        customer = rng.choice(regular)
        product = rng.choice(BY_SLUG[customer.interest].products)
        rows.append({"customer_id": customer.customer_id, "review_id": "", "product": product.name,
                     "rating": str(_pick_rating(rng)), "timestamp": _random_day(rng, customer.text_window).isoformat(),
                     "text": text})
    for _ in range(N_MISSING_ID):
        category = rng.choice(CATEGORIES)
        product = rng.choice(category.products)
        rating = _pick_rating(rng)
        rows.append({"customer_id": "", "review_id": "", "product": product.name, "rating": str(rating),
                     "timestamp": _random_day(rng, (START, END)).isoformat(),
                     "text": review_text(rng, category, product, rating)})
    rows.sort(key=lambda r: (r["timestamp"], r["customer_id"], r["product"], r["text"]))
    for number, row in enumerate(rows, start=1):
        row["review_id"] = f"R{number:05d}"
    candidates = [i for i, r in enumerate(rows) if r["customer_id"] and r["text"].strip()]
    picks = rng.sample(candidates, N_FULL_DUPLICATES + N_RESUBMITTED + len(BAD_DATES))
    for i, bad in zip(picks[-len(BAD_DATES):], BAD_DATES):
        rows[i]["timestamp"] = bad
    duplicates = [(i, dict(rows[i])) for i in picks[:N_FULL_DUPLICATES]]
    for k, i in enumerate(picks[N_FULL_DUPLICATES:N_FULL_DUPLICATES + N_RESUBMITTED]):
        duplicates.append((i, {**rows[i], "review_id": f"R{len(rows) + k + 1:05d}"}))
    for i, copy in sorted(duplicates, key=lambda d: d[0], reverse=True):
        rows.insert(i + 1, copy)


# --------------------------------------------------------------------------- browsing


def _slugify(text: str) -> str:
    """URL slug of a product name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


def page_event(rng: random.Random, slug: str | None) -> dict[str, str | None]:
    """A product page, category page or search for ``slug`` (``None``: a generic shop page)."""
    if slug is None:
        path, title = rng.choice(GENERIC_PAGES)
        return {"url": SHOP_URL + path, "title": title, "query": None}
    category = BY_SLUG[slug]
    kind = rng.choices(("product", "category", "search"), weights=(60, 15, 25))[0]
    if kind == "search":
        query = rng.choice(VAGUE_QUERIES if rng.random() < VAGUE_QUERY_SHARE else category.queries)
        return {"url": f"{SHOP_URL}/search?q={quote_plus(query)}", "title": None, "query": query}
    ref = rng.choice(REF_PARAMS)
    if kind == "category":
        return {"url": f"{SHOP_URL}/c/{slug}{ref}", "title": f"{category.name} | {SHOP_NAME}", "query": None}
    product = rng.choice(category.products)
    variant = rng.choice(product.variants) if product.variants and rng.random() < 0.7 else ""
    title = f"{product.name} – {variant} | {SHOP_NAME}" if variant else f"{product.name} | {SHOP_NAME}"
    return {"url": f"{SHOP_URL}/c/{slug}/{_slugify(product.name)}{ref}", "title": title, "query": None}


def _browse_topics(rng: random.Random, customer: Customer, n: int) -> list[str]:
    """Departments of ``n`` page views: planted secondary share, off-interest views in one or two "gift" departments."""
    if customer.thin:
        return [customer.interest] * n
    others = [c.slug for c in CATEGORIES if c.slug != customer.interest]
    gift_departments = rng.sample(others, rng.choice((1, 1, 2)))
    topics = _topics(rng, customer, n, other_share=0.0)
    return [rng.choice(gift_departments) if rng.random() < BROWSE_OTHER_SHARE else t for t in topics]


def _page_topic(rng: random.Random, topic: str) -> str | None:
    """Department actually shown: mostly ``topic``, sometimes a generic page or a neighbour's cross-sell."""
    roll = rng.random()
    if roll < BROWSE_GENERIC_SHARE:
        return None
    if roll < BROWSE_GENERIC_SHARE + BROWSE_CROSS_SELL_SHARE:
        return rng.choice(NEIGHBOURS[topic])
    return topic


def customer_events(rng: random.Random, customer: Customer) -> list[dict[str, str | None]]:
    """Browsing events for one customer: sessions of 1-6 page views, each session about one department.

    Off-interest views cluster in a few departments and sessions (someone shopping for a gift), which
    is what makes a customer with few sessions hard to read.
    """
    if customer.order_only:
        return []
    n = rng.choice((0, 0, 1, 2)) if customer.thin else min(25, 3 + int(rng.expovariate(1 / 7)))
    topics = sorted(_browse_topics(rng, customer, n), key=[c.slug for c in CATEGORIES].index)
    sessions: list[list[str]] = []
    for topic in topics:  # consecutive runs of one department, cut into sessions of 1-6 views
        if not sessions or sessions[-1][0] != topic or len(sessions[-1]) >= rng.randint(1, 6):
            sessions.append([])
        sessions[-1].append(topic)
    events: list[dict[str, str | None]] = []
    for session in sessions:
        moment = _random_time(rng, _random_day(rng, customer.text_window))
        for topic in session:
            page = page_event(rng, _page_topic(rng, topic))
            events.append({"customer_id": customer.customer_id, "timestamp": moment.isoformat(), **page})
            moment += timedelta(seconds=rng.randint(15, 600))
    return events


# --------------------------------------------------------------------------- orders


def _order_days(rng: random.Random, rule: ValueRule) -> list[date]:
    """Order dates for one customer following its value rule."""
    n = rng.randint(*rule.n_orders)
    days = [_random_day(rng, rule.window) for _ in range(n)]
    if rule.recent_days is not None:
        days[-1] = _random_day(rng, (END - timedelta(days=rule.recent_days), END))
    return sorted(days)


def _price(rng: random.Random, category: Category, spend: float) -> str:
    """A shop-like line amount (``.99``, ``.49`` ...) drawn log-uniformly from the category range."""
    low, high = category.price
    value = math.exp(rng.uniform(math.log(low), math.log(high))) * spend
    value = max(math.floor(value), 3) + rng.choice((0.99, 0.99, 0.49, 0.0, 0.95))
    return f"{value:.2f}"


def customer_orders(rng: random.Random, customer: Customer) -> list[dict[str, str]]:
    """Order line rows for one customer, all "completed"; ``_key`` groups the lines of one order."""
    if customer.value_group == "no_orders":
        return []
    rule = VALUE_RULES[customer.value_group]
    days = _order_days(rng, rule)
    lines = []
    for k, day in enumerate(days):
        moment = _random_time(rng, day)
        for _ in range(rng.randint(1, rule.max_lines)):
            slug = _line_category(rng, customer)
            lines.append({"customer_id": customer.customer_id, "_key": f"{moment.isoformat()} {customer.customer_id}",
                          "_latest": k == len(days) - 1, "order_date": moment.strftime("%Y-%m-%d %H:%M:%S"),
                          "amount": _price(rng, BY_SLUG[slug], rule.spend), "status": "completed", "category": slug})
    return lines


def _line_category(rng: random.Random, customer: Customer) -> str:
    """Department of one order line: mostly the primary interest."""
    roll = rng.random()
    if customer.secondary and roll < 0.25:
        return customer.secondary
    if roll > 0.88:
        return rng.choice(CATEGORIES).slug
    return customer.interest


def number_orders(lines: list[dict[str, str]]) -> list[dict[str, str]]:
    """Sort lines by order time and give every order a sequential ``order_id``."""
    lines = sorted(lines, key=lambda r: r["_key"])
    ids: dict[str, str] = {}
    for line in lines:
        key = line.pop("_key")
        line["order_id"] = ids.setdefault(key, f"O{100001 + len(ids)}")
    return lines


def set_statuses(rng: random.Random, lines: list[dict[str, str]]) -> None:
    """Cancel and refund whole orders until about 4 % and 2 % of the rows say so.

    A customer's latest order is never touched, so every buyer's recency comes from a completed
    order and the planted value groups stay readable.
    """
    sizes: dict[str, int] = {}
    for line in lines:
        sizes[line["order_id"]] = sizes.get(line["order_id"], 0) + 1
    eligible = sorted({line["order_id"] for line in lines if not line.pop("_latest")})
    rng.shuffle(eligible)
    chosen: dict[str, str] = {}
    for status, share in (("cancelled", CANCELLED_SHARE), ("refunded", REFUNDED_SHARE)):
        n_rows = 0
        while n_rows < share * len(lines):
            order_id = eligible[len(chosen)]
            chosen[order_id] = status
            n_rows += sizes[order_id]
    for line in lines:
        line["status"] = chosen.get(line["order_id"], "completed")


# --------------------------------------------------------------------------- writing


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, str]]) -> None:
    """Write ``rows`` as UTF-8 CSV with ``\\n`` line endings."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write_jsonl(path: Path, rows: list[dict[str, str | None]]) -> None:
    """Write one JSON object per line, keys in :data:`BROWSING_KEYS` order, non-ASCII kept."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        for row in rows:
            handle.write(json.dumps({key: row[key] for key in BROWSING_KEYS}, ensure_ascii=False) + "\n")


def _truth_rows(customers: list[Customer]) -> list[dict[str, str]]:
    """Rows of ``truth.csv``."""
    return [{"customer_id": c.customer_id, "interest": c.interest, "secondary_interest": c.secondary,
             "value_group": c.value_group, "thin": str(c.thin), "order_only": str(c.order_only)}
            for c in customers]


def generate(out_dir: Path, *, seed: int = DEFAULT_SEED, n_customers: int = DEFAULT_N_CUSTOMERS) -> dict[str, int]:
    """Write the sample shop into ``out_dir`` and return the data-row count of each file.

    Parameters
    ----------
    out_dir : Path
        Directory to write ``reviews.csv``, ``browsing.jsonl``, ``orders.csv`` and ``truth.csv`` into
        (created if missing; existing files are overwritten).
    seed : int
        Seed of the single random generator; the same seed gives byte-identical files.
    n_customers : int
        Number of customers to plant.

    Returns
    -------
    dict[str, int]
        File name to number of data rows (header excluded).
    """
    rng = random.Random(seed)
    customers = make_customers(rng, n_customers)
    reviews = [row for c in customers for row in customer_reviews(rng, c)]
    add_review_noise(rng, reviews, customers)
    events = [event for c in customers for event in customer_events(rng, c)]
    events.sort(key=lambda e: (e["timestamp"], e["customer_id"]))
    orders = number_orders([line for c in customers for line in customer_orders(rng, c)])
    set_statuses(rng, orders)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "reviews.csv", REVIEW_COLUMNS, reviews)
    _write_jsonl(out_dir / "browsing.jsonl", events)
    _write_csv(out_dir / "orders.csv", ORDER_COLUMNS, orders)
    _write_csv(out_dir / "truth.csv", TRUTH_COLUMNS, _truth_rows(customers))
    return {"reviews.csv": len(reviews), "browsing.jsonl": len(events),
            "orders.csv": len(orders), "truth.csv": len(customers)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: parse arguments, generate, print the row counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: corpora/)")
    parser.add_argument("--n-customers", type=int, default=DEFAULT_N_CUSTOMERS,
                        help="number of customers (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.n_customers < 50:
        parser.error(f"--n-customers must be at least 50 to leave room for the noise rows (got {args.n_customers})")
    counts = generate(args.out, seed=args.seed, n_customers=args.n_customers)
    for name, n_rows in counts.items():
        print(f"{args.out / name}: {n_rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
