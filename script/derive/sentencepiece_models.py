#!/usr/bin/env python3
"""Train small SentencePiece models and record reference encodings.

Usage: sentencepiece_models.py OUT_DIR

Writes OUT_DIR/{bpe,bpe_nofallback,unigram,unigram_nofallback,unigram_identity,
bpe_nodummy,unigram_user}.model and OUT_DIR/reference.json:
  {"sentencepiece_version": ..., "models": {"bpe.model": {"cases": [
     {"text": ..., "ids": [...], "pieces": [...], "decoded": ...}, ...]}, ...}}

The output is deterministic: the corpus is embedded below, training runs on
one thread with a fixed seed and without sentence sampling, and the JSON is
written with sorted keys. Pin the `sentencepiece` version (see
SENTENCEPIECE_VERSION) -- other versions may train different models.
"""

import hashlib
import json
import os
import sys

import sentencepiece as spm

SENTENCEPIECE_VERSION = "0.2.3"

# ---------------------------------------------------------------------------
# Training corpus: base sentences per language, expanded deterministically.
# ---------------------------------------------------------------------------
BASE = {
    "en": [
        "The quick brown fox jumps over the lazy dog.",
        "She sells sea shells by the sea shore.",
        "A journey of a thousand miles begins with a single step.",
        "The weather today is sunny with a chance of rain in the evening.",
        "Please remember to bring your passport to the airport.",
        "Machine learning models need a lot of training data.",
        "He bought three apples, two oranges and a loaf of bread.",
        "The meeting was moved from Monday to Wednesday afternoon.",
        "Reading books is one of the best ways to learn new words.",
        "Our train leaves the station at half past seven.",
        "The museum opens at nine and closes at five.",
        "Children were playing football in the park after school.",
        "Tokenizers split text into pieces that a model understands.",
        "It was the best of times, it was the worst of times.",
        "Can you tell me how to get to the nearest pharmacy?",
        "The river flows quietly through the old town.",
        "Knowledge is power, but enthusiasm pulls the switch.",
        "New York, London and Paris are large international cities.",
    ],
    "de": [
        "Der schnelle braune Fuchs springt über den faulen Hund.",
        "Ich möchte gerne eine Tasse Kaffee mit Milch bestellen.",
        "Die Straße ist nach dem Regen sehr nass und rutschig.",
        "Grüße aus München, wo das Wetter heute schön ist.",
        "Können Sie mir bitte sagen, wie spät es ist?",
        "Die Universität liegt im Zentrum der Stadt.",
        "Wir fahren am Wochenende mit dem Zug nach Köln.",
        "Überall blühen im Frühling die Bäume und Blumen.",
        "Das Mädchen liest ein spannendes Buch über Drachen.",
        "Fußball ist in Deutschland sehr beliebt.",
    ],
    "fr": [
        "Le renard brun rapide saute par-dessus le chien paresseux.",
        "Je voudrais réserver une table pour deux personnes ce soir.",
        "L'été dernier, nous sommes allés à la plage près de Nice.",
        "Où se trouve la gare la plus proche, s'il vous plaît ?",
        "Les élèves étudient le français et l'histoire à l'école.",
        "Ça fait longtemps que je ne t'ai pas vu, mon ami.",
        "Le café crème coûte trois euros cinquante.",
        "Noël approche et les rues sont décorées de lumières.",
        "Il a reçu une lettre très émouvante de sa sœur.",
        "La forêt est calme à l'aube, avant le lever du soleil.",
    ],
    "ru": [
        "Быстрая коричневая лиса прыгает через ленивую собаку.",
        "Москва является столицей России и крупнейшим городом страны.",
        "Я люблю читать книги по вечерам у камина.",
        "Сегодня хорошая погода, давай пойдём гулять в парк.",
        "Поезд отправляется в семь часов утра.",
        "Наука и образование очень важны для развития общества.",
        "Мой брат работает программистом в большой компании.",
        "Зимой в Сибири бывает очень холодно.",
        "Спасибо большое за вашу помощь и поддержку.",
        "Эта задача оказалась сложнее, чем мы думали.",
    ],
    "el": [
        "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Καλημέρα, τι κάνεις σήμερα;",
        "Το καλοκαίρι πηγαίνουμε διακοπές στα νησιά.",
        "Η φιλοσοφία γεννήθηκε στην αρχαία Ελλάδα.",
        "Ευχαριστώ πολύ για τη βοήθειά σου.",
        "Η θάλασσα είναι ήρεμη και γαλάζια.",
        "Μου αρέσει να διαβάζω βιβλία ιστορίας.",
    ],
    "zh": [
        "敏捷的棕色狐狸跳过了懒狗。",
        "我今天早上喝了一杯咖啡。",
        "北京是中国的首都，也是一座历史悠久的城市。",
        "学习一门新的语言需要时间和耐心。",
        "这家餐厅的饺子非常好吃。",
        "我们明天一起去公园散步吧。",
        "机器学习是人工智能的一个重要分支。",
        "春天来了，花都开了。",
        "他每天坐地铁去上班。",
        "谢谢你的帮助，我非常感激。",
    ],
    "ja": [
        "素早い茶色の狐が怠け者の犬を飛び越える。",
        "東京は日本の首都です。",
        "今日はとても良い天気ですね。",
        "私は毎朝コーヒーを飲みます。",
        "新しい言語を学ぶのは楽しいです。",
        "駅までの道を教えてください。",
        "桜の季節には多くの観光客が訪れます。",
        "ありがとうございます、助かりました。",
        "この本はとても面白かったです。",
        "週末に友達と映画を見に行きました。",
    ],
    "ko": [
        "빠른 갈색 여우가 게으른 개를 뛰어넘는다.",
        "서울은 대한민국의 수도입니다.",
        "오늘 날씨가 정말 좋네요.",
        "저는 매일 아침 커피를 마십니다.",
        "한국어를 배우는 것은 재미있어요.",
        "도서관에서 책을 빌렸습니다.",
        "감사합니다, 정말 도움이 되었어요.",
        "주말에 친구들과 등산을 갔습니다.",
    ],
    "ar": [
        "الثعلب البني السريع يقفز فوق الكلب الكسول.",
        "القاهرة هي عاصمة مصر وأكبر مدنها.",
        "أحب قراءة الكتب في المساء.",
        "الطقس جميل اليوم، لنذهب إلى الحديقة.",
        "شكرا جزيلا على مساعدتك.",
        "تعلم لغة جديدة يحتاج إلى الصبر.",
        "يذهب الطلاب إلى المدرسة كل صباح.",
        "المكتبة مفتوحة من التاسعة حتى الخامسة.",
    ],
    "hi": [
        "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।",
        "दिल्ली भारत की राजधानी है।",
        "मुझे सुबह चाय पीना पसंद है।",
        "आज मौसम बहुत अच्छा है।",
        "नई भाषा सीखना मज़ेदार होता है।",
        "कृपया मुझे स्टेशन का रास्ता बताइए।",
        "धन्यवाद, आपने बहुत मदद की।",
        "बच्चे पार्क में खेल रहे हैं।",
    ],
    "emoji": [
        "I love pizza 🍕 and ice cream 🍦!",
        "Good morning ☀️ have a great day 😊",
        "Congratulations 🎉🎉 on your new job!",
        "The cat 🐱 sat on the mat 🧶.",
        "Let's go to the beach 🏖️ this weekend 🌊.",
        "Happy birthday 🎂🎈, my friend!",
    ],
    "misc": [
        "Version 2.0.1 was released on 2024-03-15 at 10:30 UTC.",
        "The total is $1,234.56 (including 20% VAT).",
        "Email me at hello@example.com or call +1 (555) 010-9999.",
        "def add(a, b): return a + b  # simple Python function",
        "Temperature: -5°C to +12°C; humidity 80%.",
        "Files: report_final_v2.pdf, data.csv, notes.txt",
    ],
}

SUFFIXES = ["", " (1)", " — 2", " #3", " [4]", " 5."]


def corpus_lines():
    """A few hundred lines: each base sentence alone and in combinations."""
    lines = []
    langs = sorted(BASE)
    for lang in langs:
        lines.extend(BASE[lang])
    for i, lang in enumerate(langs):
        sents = BASE[lang]
        for j, s in enumerate(sents):
            other = BASE[langs[(i + j + 1) % len(langs)]]
            lines.append(f"{s} {other[j % len(other)]}{SUFFIXES[j % len(SUFFIXES)]}")
            lines.append(f"{sents[(j + 1) % len(sents)]} {s}")
    return lines


# ---------------------------------------------------------------------------
# Test lines: not from the corpus; unseen characters, whitespace, NFKC cases.
# ---------------------------------------------------------------------------
CASES = [
    "",
    " ",
    "   ",
    "Hello world",
    "Hello, world!",
    " leading space",
    "trailing space ",
    "  both  sides  ",
    "multiple     spaces   inside",
    "tab\tseparated\tvalues",
    "new\nline and\r\ncarriage return",
    "The lazy dog sleeps while the quick fox runs.",
    "Tokenization of unseen words: antidisestablishmentarianism.",
    "A sentence with numbers 42, 3.14159 and 1,000,000.",
    "UPPERCASE AND lowercase And MiXeD cAsE",
    "don't won't can't shouldn't",
    "Straße, Größe, Übermaß, äöü ÄÖÜ ß",
    "Frühstück im Café am Flußufer",
    "Élève, garçon, naïve, cœur, Noël, façade",
    "À bientôt ! Ça va ? Oui, très bien.",
    "Привет, как дела? Всё хорошо.",
    "Щука, ёж, эхо, юла, ящерица",
    "Γειά σου κόσμε! Ωραία μέρα.",
    "ΑΒΓΔΕ αβγδε ψχω",
    "你好，世界！今天天气很好。",
    "我喜欢吃苹果和香蕉。",
    "龘靐齉麤 rare characters",
    "こんにちは、世界！",
    "カタカナとひらがなと漢字",
    "ｈａｌｆ ｗｉｄｔｈ ｆｕｌｌ ｗｉｄｔｈ ＡＢＣ １２３",
    "ﾊﾝｶｸｶﾀｶﾅ half-width katakana",
    "안녕하세요, 세계!",
    "한글 자모: ㄱㄴㄷㄹ",
    "مرحبا بالعالم",
    "السلام عليكم ورحمة الله",
    "नमस्ते दुनिया",
    "क्षत्रिय त्रिकोण ज्ञान",
    "Emoji: 😀😃😄😁",
    "Family emoji: 👨‍👩‍👧‍👦 and flags 🇩🇪🇫🇷🇯🇵",
    "Skin tones: 👍🏽 👋🏿",
    "Heart ❤️ vs ❤ and star ⭐",
    "Ligatures: ﬁ ﬂ ﬀ ﬃ office ﬁnance",
    "Roman numerals: Ⅻ ⅳ and circled ① ② ③",
    "Superscripts: x² + y³ = z⁴, H₂O",
    "Fractions: ½ ¼ ¾ and units ㎏ ㎞ ℃",
    "Compatibility: ™ © ® № ℡",
    "Combining: e\u0301 a\u0300 o\u0308 n\u0303",
    "Precomposed: é à ö ñ",
    "Non-breaking\u00a0space and thin\u2009space",
    "Ideographic\u3000space here",
    "Zero\u200bwidth\u200bspace",
    "Soft\u00adhyphen",
    "Em — dash and en – dash and … ellipsis",
    "“Curly quotes” and ‘single’ and «guillemets»",
    "Math: ∑ ∫ √ ∞ ≠ ≤ ≥ ± × ÷",
    "Arrows: ← → ↑ ↓ ⇒ ⇔",
    "Currency: € £ ¥ ₹ ₽ ₩ $",
    "Box drawing: ┌─┐│└─┘",
    "Braille: ⠓⠑⠇⠇⠕",
    "Runic ᚠᚢᚦᚨᚱᚲ and Ogham ᚁᚂᚃ",
    "Thai: สวัสดีครับ",
    "Hebrew: שלום עולם",
    "Georgian: გამარჯობა",
    "Armenian: Բարեւ աշխարհ",
    "Tamil: வணக்கம் உலகம்",
    "Bengali: হ্যালো বিশ্ব",
    "Mixed: Hello мир 世界 العالم 🌍",
    "CamelCaseIdentifiersAndsnake_case_names",
    "https://example.org/path?query=1&other=two#fragment",
    "user@mail.example.com",
    "C:\\Program Files\\App\\bin",
    "<html><body>Hello</body></html>",
    "{\"json\": [1, 2, 3], \"key\": null}",
    "SELECT * FROM users WHERE id = 42;",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ababababababababababab",
    "1234567890 0987654321",
    "!!!???...,,,;;;:::",
    "The year 1999 and the year 2025.",
    "Ｔｈｅ ｑｕｉｃｋ ｂｒｏｗｎ ｆｏｘ",
    "\u2581literal lower one eighth block",
    "word\u2581glued",
    "A<0x41>byte-looking text",
    "Mr. Smith went to Washington D.C. in Sept.",
    "Dr. Müller-Lüdenscheidt isst Käsespätzle.",
    "L'homme qu'il a vu était grand.",
    "Ёлка и ель — это разные слова.",
    "Ο Σωκράτης ήταν φιλόσοφος.",
    "中文、日本語、한국어 mixed together",
    "東京タワーとスカイツリー",
    "서울 타워와 한강",
    "الكتاب على الطاولة",
    "भारत एक विशाल देश है",
    "🍕🍔🍟🌭🍿",
    "Mathematical 𝐁𝐨𝐥𝐝 and 𝔉𝔯𝔞𝔨𝔱𝔲𝔯",
    "Control\u0007bell and \u001bescape",
    "Private use \ue000 char",
    "End with emoji 🎉",
    " 🎉 start with space and emoji",
    "☃ snowman ☂ umbrella ☎ phone",
    "Ångström and Å (angstrom sign)",
    "K (kelvin sign) and Ω (ohm sign)",
    "question <sep> answer",
    "The [MASK] sat on the mat",
    "split@@ word@@ s",
    "x<sep>y[MASK]@@z",
    " <sep> ",
]

COMMON = dict(
    num_threads=1,
    seed_sentencepiece_size=100000,
    shuffle_input_sentence=False,
    max_sentence_length=4192,
    minloglevel=2,
)

MODELS = {
    "bpe.model": dict(model_type="bpe", vocab_size=1200, byte_fallback=True),
    "bpe_nofallback.model": dict(model_type="bpe", vocab_size=1200, byte_fallback=False),
    "unigram.model": dict(model_type="unigram", vocab_size=1200, byte_fallback=True),
    "unigram_nofallback.model": dict(model_type="unigram", vocab_size=1000, byte_fallback=False),
    "unigram_identity.model": dict(
        model_type="unigram", vocab_size=1000, byte_fallback=True, normalization_rule_name="identity"
    ),
    "bpe_nodummy.model": dict(
        model_type="bpe", vocab_size=1000, byte_fallback=True, add_dummy_prefix=False
    ),
    "unigram_user.model": dict(
        model_type="unigram",
        vocab_size=1000,
        byte_fallback=False,
        user_defined_symbols=["<sep>", "[MASK]", "@@"],
        control_symbols=["<ctl>"],
        pad_id=3,
    ),
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sentencepiece_models.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if spm.__version__ != SENTENCEPIECE_VERSION:
        print(f"warning: sentencepiece {spm.__version__}, expected {SENTENCEPIECE_VERSION}", file=sys.stderr)
    spm.set_random_generator_seed(1234)
    sentences = corpus_lines()

    reference = {"sentencepiece_version": spm.__version__, "models": {}}
    for name, options in MODELS.items():
        spm.set_random_generator_seed(1234)
        opts = dict(COMMON)
        opts.update(options)
        model_path = os.path.join(out, name)
        # hard_vocab_limit=False: the corpus is small; accept a smaller vocab.
        with open(model_path, "wb") as model_file:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=model_file,
                hard_vocab_limit=False,
                **opts,
            )
        sp = spm.SentencePieceProcessor(model_file=model_path)
        cases = []
        for text in CASES:
            ids = sp.encode(text)
            cases.append(
                {
                    "text": text,
                    "ids": ids,
                    "pieces": [sp.id_to_piece(i) for i in ids],
                    "decoded": sp.decode(ids),
                }
            )
        reference["models"][name] = {"vocab_size": sp.get_piece_size(), "cases": cases}

    with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False, sort_keys=True, indent=1)
        f.write("\n")
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name), "rb") as f:
            data = f.read()
        print(f"{hashlib.sha256(data).hexdigest()}  {len(data):8d}  {name}")


if __name__ == "__main__":
    main()
