"""The miniature task's text: question frames, operation sentences and reasoning templates in MGSM's 11 languages.

Every string here is a ``str.format`` template over ``a`` (a two-digit count), ``b`` (a one-digit change),
``c`` (the result) and ``obj`` (an object noun of the language). Questions are built as

    FRAMES[lang][f] + " " + OPS[lang][op] + " " + QUESTION[lang]

(with no spaces between sentences for zh/ja/th, see :data:`JOINER`), and a response reasons in one language
with :data:`REASONING` and ends in ``\\boxed{c}``. The reasoning sentences are long enough (math stripped) for
every language-ID backend of the package to recognise them; ``tests/test_miniature_task.py`` checks it.
Frame 2 is the held-out split's; the others are the training split's.
"""

from __future__ import annotations

LANGUAGES = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
"""MGSM's 11 languages (ISO 639-1)."""

OPERATIONS = ("plus", "minus")

JOINER = {"zh": "", "ja": "", "th": " "}
"""How sentences are joined (a space unless listed)."""

OBJECTS: dict[str, tuple[str, str]] = {
    "en": ("apples", "books"),
    "de": ("Äpfel", "Bücher"),
    "es": ("libros", "lápices"),
    "fr": ("livres", "crayons"),
    "ru": ("книг", "карандашей"),
    "zh": ("苹果", "杯子"),
    "ja": ("りんご", "みかん"),
    "sw": ("ndizi", "nyanya"),
    "th": ("ดินสอ", "ลูกบอล"),
    "bn": ("আপেল", "বই"),
    "te": ("ఆపిల్స్", "పుస్తకాలు"),
}

FRAMES: dict[str, tuple[str, ...]] = {
    "en": ("A basket holds {a} {obj}.", "There are {a} {obj} on the table.", "A shop has {a} {obj} in stock.",
           "Sam keeps {a} {obj} in a box.", "A child has {a} {obj}."),
    "de": ("In einem Korb liegen {a} {obj}.", "Auf dem Tisch sind {a} {obj}.", "Ein Laden hat {a} {obj} auf Lager.",
           "Sam hat {a} {obj} in einer Kiste.", "Ein Kind hat {a} {obj}."),
    "es": ("Una cesta tiene {a} {obj}.", "Hay {a} {obj} en la mesa.", "Una tienda tiene {a} {obj} en venta.",
           "Sam guarda {a} {obj} en una caja.", "Un niño tiene {a} {obj}."),
    "fr": ("Un panier contient {a} {obj}.", "Il y a {a} {obj} sur la table.", "Une boutique a {a} {obj} en stock.",
           "Sam garde {a} {obj} dans une boîte.", "Un enfant a {a} {obj}."),
    "ru": ("В корзине лежит {a} {obj}.", "На столе лежит {a} {obj}.", "В магазине есть {a} {obj}.",
           "У Сэма в коробке {a} {obj}.", "У ребёнка есть {a} {obj}."),
    "zh": ("篮子里有{a}个{obj}。", "桌子上有{a}个{obj}。", "商店里有{a}个{obj}。",
           "盒子里放着{a}个{obj}。", "一个孩子有{a}个{obj}。"),
    "ja": ("かごに{obj}が{a}こあります。", "つくえの上に{obj}が{a}こあります。", "お店に{obj}が{a}こあります。",
           "はこの中に{obj}が{a}こあります。", "子どもは{obj}を{a}こもっています。"),
    "sw": ("Kikapu kina {obj} {a}.", "Kuna {obj} {a} mezani.", "Duka lina {obj} {a}.",
           "Sanduku lina {obj} {a}.", "Mtoto ana {obj} {a}."),
    "th": ("ในตะกร้ามี{obj} {a} อัน", "บนโต๊ะมี{obj} {a} อัน", "ร้านค้ามี{obj} {a} อัน",
           "ในกล่องมี{obj} {a} อัน", "เด็กคนหนึ่งมี{obj} {a} อัน"),
    "bn": ("একটি ঝুড়িতে {a}টি {obj} আছে।", "টেবিলের উপর {a}টি {obj} আছে।", "একটি দোকানে {a}টি {obj} আছে।",
           "একটি বাক্সে {a}টি {obj} আছে।", "একটি শিশুর কাছে {a}টি {obj} আছে।"),
    "te": ("ఒక బుట్టలో {a} {obj} ఉన్నాయి.", "బల్ల మీద {a} {obj} ఉన్నాయి.", "ఒక దుకాణంలో {a} {obj} ఉన్నాయి.",
           "ఒక పెట్టెలో {a} {obj} ఉన్నాయి.", "ఒక పిల్లవాడి దగ్గర {a} {obj} ఉన్నాయి."),
}

OPS: dict[str, dict[str, str]] = {
    "en": {"plus": "Then {b} more {obj} are added.", "minus": "Then {b} {obj} are taken away."},
    "de": {"plus": "Dann kommen {b} weitere {obj} dazu.", "minus": "Dann werden {b} {obj} weggenommen."},
    "es": {"plus": "Luego se añaden {b} {obj} más.", "minus": "Luego se quitan {b} {obj}."},
    "fr": {"plus": "Ensuite, on ajoute {b} {obj} de plus.", "minus": "Ensuite, on retire {b} {obj}."},
    "ru": {"plus": "Потом добавили ещё {b} {obj}.", "minus": "Потом забрали {b} {obj}."},
    "zh": {"plus": "后来又放进了{b}个{obj}。", "minus": "后来拿走了{b}个{obj}。"},
    "ja": {"plus": "そのあと{obj}を{b}こふやしました。", "minus": "そのあと{obj}を{b}ことりました。"},
    "sw": {"plus": "Kisha {obj} {b} zaidi zinaongezwa.", "minus": "Kisha {obj} {b} zinachukuliwa."},
    "th": {"plus": "จากนั้นเพิ่ม{obj}อีก {b} อัน", "minus": "จากนั้นนำ{obj}ออกไป {b} อัน"},
    "bn": {"plus": "তারপর আরও {b}টি {obj} যোগ করা হলো।", "minus": "তারপর {b}টি {obj} সরিয়ে নেওয়া হলো।"},
    "te": {"plus": "తర్వాత మరో {b} {obj} కలిపారు.", "minus": "తర్వాత {b} {obj} తీసేశారు."},
}

QUESTION: dict[str, str] = {
    "en": "How many {obj} are there now?",
    "de": "Wie viele {obj} sind es jetzt?",
    "es": "¿Cuántos {obj} hay ahora?",
    "fr": "Combien de {obj} y a-t-il maintenant ?",
    "ru": "Сколько {obj} теперь?",
    "zh": "现在一共有多少个{obj}？",
    "ja": "いま{obj}はいくつありますか。",
    "sw": "Sasa kuna {obj} ngapi?",
    "th": "ตอนนี้มี{obj}กี่อัน",
    "bn": "এখন কয়টি {obj} আছে?",
    "te": "ఇప్పుడు ఎన్ని {obj} ఉన్నాయి?",
}

REASONING: dict[str, dict[str, str]] = {
    "en": {"plus": "We add {b} to {a}. {a} plus {b} is {c}. So the answer is \\boxed{{{c}}}.",
           "minus": "We take {b} away from {a}. {a} minus {b} is {c}. So the answer is \\boxed{{{c}}}."},
    "de": {"plus": "Wir addieren {b} zu {a}. {a} plus {b} ist {c}. Also lautet die Antwort \\boxed{{{c}}}.",
           "minus": "Wir ziehen {b} von {a} ab. {a} minus {b} ist {c}. Also lautet die Antwort \\boxed{{{c}}}."},
    "es": {"plus": "Sumamos {b} a {a}. {a} más {b} es {c}. Entonces la respuesta es \\boxed{{{c}}}.",
           "minus": "Restamos {b} de {a}. {a} menos {b} es {c}. Entonces la respuesta es \\boxed{{{c}}}."},
    "fr": {"plus": "Nous ajoutons {b} à {a}. {a} plus {b} font {c}. Donc la réponse est \\boxed{{{c}}}.",
           "minus": "Nous retirons {b} de {a}. {a} moins {b} font {c}. Donc la réponse est \\boxed{{{c}}}."},
    "ru": {"plus": "Мы прибавляем {b} к {a}. {a} плюс {b} равно {c}. Значит, ответ \\boxed{{{c}}}.",
           "minus": "Мы вычитаем {b} из {a}. {a} минус {b} равно {c}. Значит, ответ \\boxed{{{c}}}."},
    "zh": {"plus": "我们把{a}加上{b}。{a}加{b}等于{c}。所以答案是\\boxed{{{c}}}。",
           "minus": "我们从{a}里面减去{b}。{a}减{b}等于{c}。所以答案是\\boxed{{{c}}}。"},
    "ja": {"plus": "{a}に{b}をたします。{a}たす{b}は{c}です。だから答えは\\boxed{{{c}}}です。",
           "minus": "{a}から{b}をひきます。{a}ひく{b}は{c}です。だから答えは\\boxed{{{c}}}です。"},
    "sw": {"plus": "Tunaongeza {b} kwa {a}. {a} jumlisha {b} ni {c}. Kwa hiyo jibu ni \\boxed{{{c}}}.",
           "minus": "Tunatoa {b} kutoka {a}. {a} toa {b} ni {c}. Kwa hiyo jibu ni \\boxed{{{c}}}."},
    "th": {"plus": "เราเอา {b} มาบวกกับ {a} แล้ว {a} บวก {b} เท่ากับ {c} ดังนั้นคำตอบคือ \\boxed{{{c}}}",
           "minus": "เราเอา {b} ออกจาก {a} แล้ว {a} ลบ {b} เท่ากับ {c} ดังนั้นคำตอบคือ \\boxed{{{c}}}"},
    "bn": {"plus": "আমরা {a} এর সাথে {b} যোগ করি। {a} যোগ {b} সমান {c}। তাই উত্তর হলো \\boxed{{{c}}}।",
           "minus": "আমরা {a} থেকে {b} বিয়োগ করি। {a} বিয়োগ {b} সমান {c}। তাই উত্তর হলো \\boxed{{{c}}}।"},
    "te": {"plus": "మనం {a} కి {b} కలుపుతాము. {a} కూడిక {b} సమానం {c}. కాబట్టి సమాధానం \\boxed{{{c}}}.",
           "minus": "మనం {a} నుండి {b} తీసివేస్తాము. {a} తీసివేత {b} సమానం {c}. కాబట్టి సమాధానం \\boxed{{{c}}}."},
}

REFLECTION: dict[str, str] = {
    "en": "Wait, let me check: {c} is right.",
    "de": "Moment, lass mich prüfen: {c} stimmt.",
    "es": "Espera, déjame verificar: {c} es correcto.",
    "fr": "Attends, vérifions : {c} est correct.",
    "ru": "Подождите, давайте проверим: {c} верно.",
    "zh": "等等，让我检查一下：{c}是对的。",
    "ja": "待って、確認します。{c}で正しいです。",
    "sw": "Subiri, acha nikague: {c} ni sahihi.",
    "th": "เดี๋ยวก่อน ขอตรวจสอบอีกครั้ง {c} ถูกต้อง",
    "bn": "দাঁড়াও, আবার যাচাই করি: {c} ঠিক আছে।",
    "te": "ఆగండి, మళ్ళీ సరిచూద్దాం: {c} సరైనది.",
}
"""One self-check sentence per language, for the reflection warm start (see :mod:`.warm_start`)."""
