"""Writes the text corpus the tiny T5 SentencePiece model (t5-tiny-spiece.model) is trained on.

Deterministic (no randomness beyond a fixed-seed shuffle): English prompt-like sentences built from word
lists, plus accented Latin (French, German, Spanish, Portuguese, Polish, Vietnamese), Greek, Cyrillic,
Japanese, Chinese, Korean and a few symbols, so the unigram model has multi-byte pieces and some
characters stay unknown (character_coverage < 1). See make_t5_spm.sh.
Usage: python3 t5_corpus.py OUT.txt"""
import random
import sys

COLORS = "red green blue yellow purple orange white black pink brown gray cyan golden silver crimson".split()
SHAPES = "circle square triangle star heart ring cross diamond spiral cube sphere".split()
THINGS = ("astronaut horse castle mountain lake forest city street cat dog robot dragon garden flower sunset ocean "
          "portrait painting photograph landscape spaceship village bridge river tree bird squirrel burger "
          "lighthouse desert island waterfall temple market train station library kitchen window door "
          "knight wizard princess warrior sailor farmer child woman man owl fox wolf bear tiger lion "
          "butterfly whale octopus jellyfish mushroom cactus volcano glacier canyon meadow harbor").split()
STYLES = ("digital art, oil painting, watercolor, highly detailed, cinematic lighting, 4k, 8k, concept art, "
          "trending on artstation, photorealistic, studio ghibli style, pixel art, unreal engine, octane render, "
          "sharp focus, soft light, volumetric fog, bokeh, wide angle, macro photography, golden hour, "
          "long exposure, black and white, sepia, vaporwave, cyberpunk, steampunk, art nouveau, baroque").split(", ")
VERBS = "riding eating holding reading painting watching chasing carrying climbing flying swimming sleeping".split()
PLACES = ("on a white background|in the top left corner|under a starry sky|at night|in the rain|on the moon|"
          "in a busy market|next to a river|inside a glass bottle|on a wooden table|in front of a castle").split("|")
WORDS = """ability able about above accept according account across action activity actually address administration admit adult affect after again against agency agent agree agreement ahead allow almost alone along already although always american among amount analysis animal another answer anyone anything appear apply approach area argue around arrive article artist assume attack attention attorney audience author authority available avoid away baby back ball bank base beat beautiful because become before begin behavior behind believe benefit better between beyond billion black blood board body book born both break bring brother budget build building business call camera campaign cancer candidate capital card care career carry case catch cause cell center central century certain chair challenge chance change character charge check choice choose church citizen civil claim class clear close coach cold collection college color come commercial common community company compare computer concern condition conference congress consider consumer contain continue control cost could country couple course court cover create crime cultural culture current customer dark data daughter dead deal death debate decade decide decision deep defense degree democrat describe design despite detail determine develop development difference different difficult dinner direction director discover discuss disease doctor dream drive during early east easy economic economy edge education effect effort eight either election else employee energy enjoy enough enter entire environment especially establish evening event ever every evidence exactly example executive exist expect experience expert explain face fact factor fail fall family fast father fear federal feel feeling field fight figure fill film final finally financial find fine finger finish fire firm first fish five floor focus follow food foot force foreign forget form former forward four free friend front full fund future game garden general generation girl give glass goal good government great ground group grow growth guess hair half hand hang happen happy hard have head health hear heart heat heavy help here herself high himself history hold home hope hospital hotel hour house however huge human hundred husband idea identify image imagine impact important improve include including increase indeed indicate individual industry information inside instead institution interest interesting international interview into investment involve issue item itself join just keep kill kind kitchen know knowledge land language large last late later laugh lawyer lead leader learn least leave left legal less letter level life light like likely line list listen little live local long look lose loss love machine magazine main maintain major majority make manage management manager many market marriage material matter maybe mean measure media medical meet meeting member memory mention message method middle might military million mind minute miss mission model modern moment money month more morning most mother mouth move movement movie much music must myself name nation national natural nature near nearly necessary need network never news newspaper next nice night none north note nothing notice number occur offer office officer official often once only onto open operation opportunity option order organization other others outside over owner page pain paper parent part participant particular partner party pass past patient pattern peace people perform performance perhaps period person personal phone physical pick picture piece place plan plant play player point police policy political politics poor popular population position positive possible power practice prepare present president pressure pretty prevent price private probably problem process produce product production professional professor program project property protect prove provide public pull purpose push quality question quickly quite race radio raise range rate rather reach ready real reality realize really reason receive recent recently recognize record reduce reflect region relate relationship religious remain remember remove report represent republican require research resource respond response responsibility rest result return reveal rich right rise risk road rock role room rule safe same save scene school science scientist score season seat second section security seek seem sell send senior sense series serious serve service seven several shake share shoot short shot should shoulder show side sign significant similar simple simply since sing single sister site situation size skill skin small smile social society soldier some somebody someone something sometimes song soon sort sound source south southern space speak special specific speech spend sport spring staff stage stand standard start state statement stay step still stock stop store story strategy strong structure student study stuff style subject success successful such suddenly suffer suggest summer support sure surface system table take talk task teach teacher team technology television tell tend term test than thank their them themselves then theory there these they thing think third those though thought thousand threat three through throughout throw thus today together tonight total tough toward town trade traditional training travel treat treatment trial trip trouble true truth turn type under understand unit until upon usually value various very victim view violence visit voice vote wait walk wall want watch water weapon wear week weight well west western what whatever wheel when where whether which while white whole whom whose wide wife will win wind window wish with within without wonder word work worker world worry would write writer wrong yard yeah year young yourself""".split()
SENTENCES = [
    "a photograph of an astronaut riding a horse", "a painting of a squirrel eating a burger",
    "a peaceful garden with blooming flowers", "a serene mountain landscape at sunset, digital art, highly detailed",
    "it's the dragon's 3rd birthday!!!", "numbers 1234567890 and 3.14, 42, 2024, 100%",
    "quotes \"double\" and 'single', (parentheses) [brackets] {braces}", "url http://example.com/x?y=1&z=2",
    "hyphen-ated and under_scored words; semi:colons, commas... and dots", "UPPER lower MiXeD Case Words",
    "The quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore.",
]
ACCENTED = [
    "café naïve résumé façade déjà vu crème brûlée à la carte", "l'été dernier, nous sommes allés à la plage",
    "une forêt enchantée sous la neige, très détaillée", "le château médiéval près de la rivière",
    "Müller Straße Größe Äpfel Öl über schön grün", "ein Hund läuft über die Brücke im Frühling",
    "niño año señor mañana corazón canción pingüino", "un dragón rojo volando sobre la montaña",
    "ação coração pão maçã avô", "uma casa pequena perto do mar",
    "zażółć gęślą jaźń, łódź, źródło", "Tiếng Việt có dấu: phở, bánh mì, cà phê sữa đá",
    "smörgåsbord, fjäll, ångström, Ørsted, Æsir", "İstanbul, çiçek, şehir, ğ, ı",
]
OTHER = [
    "Ελληνικά: καλημέρα κόσμε, ο ήλιος λάμπει", "φωτογραφία ενός αστροναύτη",
    "Русский: привет мир, красная площадь ночью", "фотография кошки на окне, масляная живопись",
    "日本語のプロンプト", "東京の夜景、高精細、デジタルアート", "桜の木の下で猫が寝ている", "ひらがな カタカナ 漢字",
    "中文提示词：一只猫坐在窗台上", "山水画，高清，数字艺术", "北京的天安门广场", "龙在云中飞翔",
    "한국어 프롬프트: 고양이가 창가에 앉아 있다", "서울의 밤 풍경",
    "emoji 🚀 rocket ✨ sparkles", "math: α + β = γ, ∑ x² ≤ ∞", "arrows → ← ↑ ↓ and © ® ™ € £ ¥",
    "full-width ＡＢＣ １２３ and ligature ﬁ ﬂ and ½ ⅓", "tabs\tand\ttabs   and    spaces",
]


def lines():
    out = list(SENTENCES)
    for c in COLORS:
        for s in SHAPES:
            out.append(f"a {c} {s} on a white background")
            out.append(f"a small {c} {s} in the top left corner")
    for t in THINGS:
        for st in STYLES:
            out.append(f"a photograph of a {t}, {st}")
    for t in THINGS:
        for v in VERBS:
            for p in PLACES[:4]:
                out.append(f"a {t} {v} {p}")
    for t in THINGS:
        for p in PLACES:
            out.append(f"the {t} {p}, {STYLES[len(t) % len(STYLES)]}")
    # the multilingual text, repeated so that its pieces are frequent enough to enter the vocabulary
    for _ in range(40):
        out += ACCENTED + OTHER
    # plain English word sequences (the bulk of the vocabulary)
    rng = random.Random(99)
    for i in range(3000):
        out.append(" ".join(rng.choice(WORDS) for _ in range(6 + i % 9)))
    random.Random(1234).shuffle(out)
    return out


if __name__ == "__main__":
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for line in lines():
            f.write(line + "\n")
