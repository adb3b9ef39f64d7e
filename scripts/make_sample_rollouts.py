"""Write verl_multiling/data/sample_rollouts.jsonl: the bundled multilingual rollouts for preflight.

Two GSM-style questions in 13 languages, each with four rollouts that exercise the reward path:
``native`` (reasoning in the query language, correct), ``english`` (correct but reasoned in English:
AdaMame's language collapse), ``wrong`` (query language, wrong answer) and ``numeral`` (query
language, correct answer written with a local numeral form: native digits, a decimal comma or
full-width digits) or, for languages without one, ``no_answer`` (no \\boxed{} answer).
All texts were written by hand for this file; run ``python scripts/make_sample_rollouts.py`` to rebuild.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "verl_multiling" / "data"
OUT = DATA / "sample_rollouts.jsonl"
REFLECTION_OUT = DATA / "sample_reflection_rollouts.jsonl"

# (question, native reasoning with {ans} placeholder) for Q1 (answer 18) and Q2 (answer 53)
TEXTS = {
    "en": (
        "Janet's ducks lay 16 eggs per day. She eats 3 for breakfast and bakes muffins with 4. She sells the rest for $2 each. How many dollars does she make every day?",
        "She has 16 - 3 - 4 = 9 eggs left to sell.\nEach egg brings $2, so she earns 9 \\times 2 = {ans} dollars.\nThe answer is \\boxed{{{ans}}}.",
        "A box holds 12 pencils. Tom buys 5 boxes and gives 7 pencils to his friends. How many pencils does he have left?",
        "Five boxes hold 5 \\times 12 = 60 pencils.\nAfter giving away 7 he keeps 60 - 7 = {ans} pencils.\nThe answer is \\boxed{{{ans}}}.",
    ),
    "fr": (
        "Les canards de Janet pondent 16 œufs par jour. Elle en mange 3 au petit-déjeuner et en utilise 4 pour des muffins. Elle vend le reste 2 $ pièce. Combien de dollars gagne-t-elle chaque jour ?",
        "Il lui reste 16 - 3 - 4 = 9 œufs à vendre.\nChaque œuf rapporte 2 $, donc elle gagne 9 \\times 2 = {ans} dollars.\nLa réponse est \\boxed{{{ans}}}.",
        "Une boîte contient 12 crayons. Tom achète 5 boîtes et donne 7 crayons à ses amis. Combien de crayons lui reste-t-il ?",
        "Cinq boîtes contiennent 5 \\times 12 = 60 crayons.\nAprès en avoir donné 7, il lui en reste 60 - 7 = {ans}.\nLa réponse est \\boxed{{{ans}}}.",
    ),
    "de": (
        "Janets Enten legen 16 Eier pro Tag. Sie isst 3 zum Frühstück und backt mit 4 Muffins. Den Rest verkauft sie für 2 $ pro Stück. Wie viele Dollar verdient sie jeden Tag?",
        "Ihr bleiben 16 - 3 - 4 = 9 Eier zum Verkaufen.\nJedes Ei bringt 2 $, also verdient sie 9 \\times 2 = {ans} Dollar.\nDie Antwort lautet \\boxed{{{ans}}}.",
        "Eine Schachtel enthält 12 Bleistifte. Tom kauft 5 Schachteln und verschenkt 7 Bleistifte an seine Freunde. Wie viele Bleistifte hat er noch?",
        "Fünf Schachteln enthalten 5 \\times 12 = 60 Bleistifte.\nNachdem er 7 verschenkt hat, bleiben ihm 60 - 7 = {ans} Bleistifte.\nDie Antwort lautet \\boxed{{{ans}}}.",
    ),
    "es": (
        "Los patos de Janet ponen 16 huevos al día. Ella se come 3 en el desayuno y usa 4 para hacer magdalenas. Vende el resto a 2 $ cada uno. ¿Cuántos dólares gana cada día?",
        "Le quedan 16 - 3 - 4 = 9 huevos para vender.\nCada huevo le da 2 $, así que gana 9 \\times 2 = {ans} dólares.\nLa respuesta es \\boxed{{{ans}}}.",
        "Una caja tiene 12 lápices. Tom compra 5 cajas y regala 7 lápices a sus amigos. ¿Cuántos lápices le quedan?",
        "Cinco cajas tienen 5 \\times 12 = 60 lápices.\nDespués de regalar 7, le quedan 60 - 7 = {ans} lápices.\nLa respuesta es \\boxed{{{ans}}}.",
    ),
    "pt": (
        "Os patos de Janet põem 16 ovos por dia. Ela come 3 no café da manhã e usa 4 para fazer muffins. Ela vende o resto por 2 dólares cada. Quantos dólares ela ganha por dia?",
        "Sobram 16 - 3 - 4 = 9 ovos para vender.\nCada ovo rende 2 dólares, então ela ganha 9 \\times 2 = {ans} dólares.\nA resposta é \\boxed{{{ans}}}.",
        "Uma caixa tem 12 lápis. Tom compra 5 caixas e dá 7 lápis aos amigos. Quantos lápis ainda lhe restam?",
        "Cinco caixas têm 5 \\times 12 = 60 lápis.\nDepois de dar 7, restam-lhe 60 - 7 = {ans} lápis.\nA resposta é \\boxed{{{ans}}}.",
    ),
    "ru": (
        "Утки Джанет несут 16 яиц в день. Она съедает 3 на завтрак и печёт маффины из 4. Остальные она продаёт по 2 доллара за штуку. Сколько долларов она зарабатывает каждый день?",
        "У неё остаётся 16 - 3 - 4 = 9 яиц на продажу.\nКаждое яйцо приносит 2 доллара, значит, она зарабатывает 9 \\times 2 = {ans} долларов.\nОтвет: \\boxed{{{ans}}}.",
        "В коробке 12 карандашей. Том покупает 5 коробок и дарит друзьям 7 карандашей. Сколько карандашей у него осталось?",
        "В пяти коробках 5 \\times 12 = 60 карандашей.\nПосле того как он подарил 7, у него осталось 60 - 7 = {ans} карандашей.\nОтвет: \\boxed{{{ans}}}.",
    ),
    "zh": (
        "珍妮特的鸭子每天下16个蛋。她每天早餐吃3个，用4个做松饼。剩下的蛋每个卖2美元。她每天能赚多少美元？",
        "她还剩 16 - 3 - 4 = 9 个蛋可以卖。\n每个蛋卖2美元，所以她赚 9 \\times 2 = {ans} 美元。\n答案是 \\boxed{{{ans}}}。",
        "一盒有12支铅笔。汤姆买了5盒，送给朋友7支。他还剩多少支铅笔？",
        "五盒一共有 5 \\times 12 = 60 支铅笔。\n送出7支后，他还剩 60 - 7 = {ans} 支。\n答案是 \\boxed{{{ans}}}。",
    ),
    "ja": (
        "ジャネットのアヒルは1日に16個の卵を産みます。彼女は朝食に3個食べ、4個でマフィンを焼きます。残りを1個2ドルで売ります。彼女は毎日何ドル稼ぎますか？",
        "売れる卵は 16 - 3 - 4 = 9 個残ります。\n卵1個で2ドルなので、9 \\times 2 = {ans} ドル稼ぎます。\n答えは \\boxed{{{ans}}} です。",
        "1箱に鉛筆が12本入っています。トムは5箱買い、友だちに7本あげました。鉛筆は何本残っていますか？",
        "5箱で 5 \\times 12 = 60 本の鉛筆があります。\n7本あげたので、残りは 60 - 7 = {ans} 本です。\n答えは \\boxed{{{ans}}} です。",
    ),
    "ko": (
        "재닛의 오리들은 하루에 달걀 16개를 낳습니다. 그녀는 아침으로 3개를 먹고 4개로 머핀을 굽습니다. 나머지는 개당 2달러에 팝니다. 그녀는 매일 몇 달러를 법니까?",
        "팔 수 있는 달걀은 16 - 3 - 4 = 9개가 남습니다.\n달걀 하나에 2달러이므로 9 \\times 2 = {ans}달러를 법니다.\n답은 \\boxed{{{ans}}}입니다.",
        "한 상자에 연필이 12자루 들어 있습니다. 톰은 5상자를 사서 친구들에게 7자루를 주었습니다. 연필은 몇 자루 남았습니까?",
        "다섯 상자에는 5 \\times 12 = 60자루의 연필이 있습니다.\n7자루를 주었으므로 60 - 7 = {ans}자루가 남습니다.\n답은 \\boxed{{{ans}}}입니다.",
    ),
    "th": (
        "เป็ดของเจเน็ตออกไข่วันละ 16 ฟอง เธอกินไข่ 3 ฟองเป็นอาหารเช้าและใช้ 4 ฟองอบมัฟฟิน เธอขายไข่ที่เหลือฟองละ 2 ดอลลาร์ เธอได้เงินวันละกี่ดอลลาร์",
        "เหลือไข่สำหรับขาย 16 - 3 - 4 = 9 ฟอง\nไข่แต่ละฟองขายได้ 2 ดอลลาร์ ดังนั้นเธอได้เงิน 9 \\times 2 = {ans} ดอลลาร์\nคำตอบคือ \\boxed{{{ans}}}",
        "กล่องหนึ่งมีดินสอ 12 แท่ง ทอมซื้อ 5 กล่องและแบ่งให้เพื่อน 7 แท่ง เขาเหลือดินสอกี่แท่ง",
        "ห้ากล่องมีดินสอ 5 \\times 12 = 60 แท่ง\nหลังจากให้เพื่อนไป 7 แท่ง เขาเหลือ 60 - 7 = {ans} แท่ง\nคำตอบคือ \\boxed{{{ans}}}",
    ),
    "bn": (
        "জ্যানেটের হাঁসগুলো প্রতিদিন ১৬টি ডিম পাড়ে। সে সকালের নাস্তায় ৩টি খায় এবং ৪টি দিয়ে মাফিন বানায়। বাকি ডিমগুলো সে প্রতিটি ২ ডলারে বিক্রি করে। সে প্রতিদিন কত ডলার আয় করে?",
        "বিক্রির জন্য তার কাছে 16 - 3 - 4 = 9টি ডিম থাকে।\nপ্রতিটি ডিমের দাম 2 ডলার, তাই সে আয় করে 9 \\times 2 = {ans} ডলার।\nউত্তর হলো \\boxed{{{ans}}}।",
        "একটি বাক্সে ১২টি পেন্সিল থাকে। টম ৫টি বাক্স কিনে বন্ধুদের ৭টি পেন্সিল দিয়ে দেয়। তার কাছে কতগুলো পেন্সিল বাকি আছে?",
        "পাঁচটি বাক্সে মোট 5 \\times 12 = 60টি পেন্সিল আছে।\n৭টি দিয়ে দেওয়ার পর তার কাছে থাকে 60 - 7 = {ans}টি পেন্সিল।\nউত্তর হলো \\boxed{{{ans}}}।",
    ),
    "sw": (
        "Bata wa Janet hutaga mayai 16 kila siku. Yeye hula mayai 3 wakati wa kifungua kinywa na hutumia 4 kuoka mikate. Huuza mayai yaliyobaki kwa dola 2 kila moja. Anapata dola ngapi kila siku?",
        "Anabaki na mayai 16 - 3 - 4 = 9 ya kuuza.\nKila yai linaleta dola 2, kwa hiyo anapata 9 \\times 2 = {ans} dola.\nJibu ni \\boxed{{{ans}}}.",
        "Sanduku moja lina penseli 12. Tom ananunua masanduku 5 na kuwapa marafiki zake penseli 7. Amebaki na penseli ngapi?",
        "Masanduku matano yana penseli 5 \\times 12 = 60.\nBaada ya kutoa penseli 7, anabaki na 60 - 7 = {ans}.\nJibu ni \\boxed{{{ans}}}.",
    ),
    "te": (
        "జానెట్ బాతులు రోజుకు 16 గుడ్లు పెడతాయి. ఆమె అల్పాహారానికి 3 గుడ్లు తింటుంది, 4 గుడ్లతో మఫిన్లు చేస్తుంది. మిగిలిన గుడ్లను ఒక్కొక్కటి 2 డాలర్లకు అమ్ముతుంది. ఆమె రోజుకు ఎన్ని డాలర్లు సంపాదిస్తుంది?",
        "అమ్మడానికి ఆమె దగ్గర 16 - 3 - 4 = 9 గుడ్లు మిగులుతాయి.\nఒక్కో గుడ్డుకు 2 డాలర్లు, కాబట్టి ఆమె 9 \\times 2 = {ans} డాలర్లు సంపాదిస్తుంది.\nసమాధానం \\boxed{{{ans}}}.",
        "ఒక పెట్టెలో 12 పెన్సిళ్లు ఉంటాయి. టామ్ 5 పెట్టెలు కొని స్నేహితులకు 7 పెన్సిళ్లు ఇచ్చాడు. అతని దగ్గర ఇంకా ఎన్ని పెన్సిళ్లు ఉన్నాయి?",
        "ఐదు పెట్టెల్లో 5 \\times 12 = 60 పెన్సిళ్లు ఉన్నాయి.\n7 ఇచ్చిన తర్వాత అతని దగ్గర 60 - 7 = {ans} పెన్సిళ్లు మిగిలాయి.\nసమాధానం \\boxed{{{ans}}}.",
    ),
}

# The fourth rollout: the correct answer in a local numeral form (gold stays ASCII), else no \boxed{}.
NUMERAL_FORMS = {
    "bn": ("১৮", "৫৩"), "th": ("๑๘", "๕๓"), "te": ("౧౮", "౫౩"),
    "zh": ("１８", "５３"), "ja": ("１８", "５３"),
    "de": ("18{,}0", "53{,}0"), "fr": ("18{,}0", "53{,}0"), "es": ("18{,}0", "53{,}0"),
    "pt": ("18,0", "53,0"), "ru": ("18{,}0", "53{,}0"),
}
GOLD = ("18", "53")
WRONG = ("17", "50")


def rollouts() -> list[dict]:
    rows = []
    for lang, (q1, r1, q2, r2) in TEXTS.items():
        for qi, (question, reasoning) in enumerate(((q1, r1), (q2, r2))):
            uid = f"{lang}-q{qi + 1}"
            english = TEXTS["en"][1 + 2 * qi]
            variants = [
                ("native", reasoning.format(ans=GOLD[qi])),
                ("english", english.format(ans=GOLD[qi])),
                ("wrong", reasoning.format(ans=WRONG[qi])),
            ]
            if lang in NUMERAL_FORMS:
                local = NUMERAL_FORMS[lang][qi]
                variants.append(("numeral", reasoning.replace("{ans}", GOLD[qi], 1).replace("\\boxed{{{ans}}}", "\\boxed{" + local + "}")))
            else:
                variants.append(("no_answer", reasoning.format(ans=GOLD[qi]).rsplit("\n", 1)[0]))
            for kind, response in variants:
                rows.append({
                    "uid": uid, "lang": lang, "kind": kind, "question": question,
                    "response": response, "ground_truth": GOLD[qi], "data_source": f"sample/{lang}",
                })
    return rows


# A self-check sentence per language, each holding one reflection marker of rewards/reflection.py.
SELF_CHECK = {
    "en": "Wait, let me verify the arithmetic once more.",
    "fr": "Attends, vérifions le calcul une fois de plus.",
    "de": "Moment mal, prüfen wir die Rechnung noch einmal.",
    "es": "Espera, verifiquemos el cálculo otra vez.",
    "pt": "Espere, vamos verificar a conta mais uma vez.",
    "ru": "Подождите, проверим вычисления ещё раз.",
    "zh": "等一下，让我检查一下计算。",
    "ja": "ちょっと待って、計算を確認します。",
    "ko": "잠깐, 계산을 다시 확인해 보겠습니다.",
    "th": "เดี๋ยวก่อน ขอตรวจสอบการคำนวณอีกครั้ง",
    "bn": "এক মিনিট, হিসাবটা আবার যাচাই করি।",
    "sw": "Subiri, hebu tuangalie hesabu tena.",
    "te": "ఒక్క నిమిషం, లెక్కను మళ్ళీ తనిఖీ చేద్దాం.",
}


def reflection_rollouts(rows: list[dict]) -> list[dict]:
    """The same rollouts in the reflection recipe's format: the reasoning and a self-check inside
    <think>...</think>, then the final line (the boxed answer, when there is one)."""
    out = []
    for row in rows:
        lines = row["response"].split("\n")
        check_lang = "en" if row["kind"] == "english" else row["lang"]
        think = "\n".join([*lines[:-1], SELF_CHECK[check_lang]])
        out.append({**row, "response": f"<think>\n{think}\n</think>\n{lines[-1]}"})
    return out


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rollouts in {len({r['lang'] for r in rows})} languages to {path}")


def main() -> None:
    rows = rollouts()
    write(OUT, rows)
    write(REFLECTION_OUT, reflection_rollouts(rows))


if __name__ == "__main__":
    main()
