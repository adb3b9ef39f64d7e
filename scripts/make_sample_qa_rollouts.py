"""Write verl_multiling/data/sample_qa_rollouts.jsonl: bundled rollouts of the example non-math task.

Multilingual short-answer QA (``+task=multilingual_qa``, scored by
``verl_multiling.rewards.short_answer.compute_score``: exact match after normalisation). Two questions in
8 languages, each with four rollouts: ``native`` (reasoned and answered in the query language, correct),
``english`` (correct but reasoned in English, answering the English name: language collapse),
``wrong`` (query language, wrong answer) and ``surface`` (query language, correct answer in another surface
form: case, quotes, markdown, an article, a \\boxed{} answer). Gold answers are lists of accepted aliases:
the answer in the query language, and its English name. All texts were written by hand for this file;
run ``python scripts/make_sample_qa_rollouts.py`` to rebuild.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "verl_multiling" / "data" / "sample_qa_rollouts.jsonl"

ENGLISH = {
    "capital": "Many people think of Sydney, but the federal capital of Australia is Canberra, chosen as a "
               "compromise between Sydney and Melbourne.\nAnswer: Canberra",
    "planet": "Iron oxide on its surface gives it a reddish colour; it is the fourth planet from the Sun.\n"
              "Answer: Mars",
}

# language -> question id -> (question with the answer-format instruction, gold aliases, native, wrong, surface)
TEXTS: dict[str, dict[str, tuple[str, list[str], str, str, str]]] = {
    "fr": {
        "capital": (
            "Quelle est la capitale de l'Australie ? Terminez par une ligne « Réponse : » suivie de la réponse courte.",
            ["Canberra"],
            "Beaucoup de gens pensent à Sydney, mais la capitale fédérale de l'Australie est Canberra, choisie "
            "comme compromis entre Sydney et Melbourne.\nRéponse : Canberra",
            "La plus grande ville d'Australie est aussi sa capitale, c'est-à-dire Sydney.\nRéponse : Sydney",
            "Il ne s'agit ni de Sydney ni de Melbourne : le gouvernement siège dans une ville construite exprès "
            "pour lui.\nRéponse : **canberra.**",
        ),
        "planet": (
            "Quelle planète est surnommée la planète rouge ? Terminez par une ligne « Réponse : » suivie de la "
            "réponse courte.",
            ["Mars"],
            "L'oxyde de fer présent à sa surface lui donne une couleur rougeâtre ; il s'agit de la quatrième "
            "planète du système solaire.\nRéponse : Mars",
            "La planète la plus chaude du système solaire brille d'un éclat orangé, c'est donc Vénus.\n"
            "Réponse : Vénus",
            "Sa poussière riche en oxyde de fer lui donne cette couleur si particulière.\nRéponse : « Mars »",
        ),
    },
    "es": {
        "capital": (
            "¿Cuál es la capital de Australia? Termina con una línea «Respuesta:» seguida de la respuesta corta.",
            ["Canberra"],
            "Mucha gente piensa en Sídney, pero la capital federal de Australia es Canberra, elegida como "
            "compromiso entre Sídney y Melbourne.\nRespuesta: Canberra",
            "La ciudad más grande y famosa del país es también su capital, es decir, Sídney.\nRespuesta: Sídney",
            "No es Sídney ni Melbourne, sino una ciudad que se construyó especialmente para el gobierno.\n"
            "Respuesta: \\boxed{CANBERRA}",
        ),
        "planet": (
            "¿Qué planeta es conocido como el planeta rojo? Termina con una línea «Respuesta:» seguida de la "
            "respuesta corta.",
            ["Marte", "Mars"],
            "El óxido de hierro de su superficie le da un color rojizo; es el cuarto planeta del sistema solar.\n"
            "Respuesta: Marte",
            "El planeta más grande del sistema solar tiene una gran mancha roja, así que es Júpiter.\n"
            "Respuesta: Júpiter",
            "El polvo de su superficie, rico en óxido de hierro, hace que se vea de ese color.\nRespuesta: ¡Marte!",
        ),
    },
    "pt": {
        "capital": (
            "Qual é a capital da Austrália? Termine com uma linha «Resposta:» seguida da resposta curta.",
            ["Camberra", "Canberra"],
            "Muita gente pensa em Sydney, mas a capital federal da Austrália é Camberra, escolhida como "
            "meio-termo entre Sydney e Melbourne.\nResposta: Camberra",
            "A maior e mais conhecida cidade do país também é a sua capital, ou seja, Sydney.\nResposta: Sydney",
            "Não é Sydney nem Melbourne, mas uma cidade planejada especialmente para o governo federal.\n"
            "Resposta: a Camberra.",
        ),
        "planet": (
            "Qual planeta é conhecido como o planeta vermelho? Termine com uma linha «Resposta:» seguida da "
            "resposta curta.",
            ["Marte", "Mars"],
            "O óxido de ferro na sua superfície dá-lhe uma cor avermelhada; é o quarto planeta do sistema solar.\n"
            "Resposta: Marte",
            "O maior planeta do sistema solar tem uma grande mancha vermelha, portanto é Júpiter.\n"
            "Resposta: Júpiter",
            "A poeira da sua superfície, rica em óxido de ferro, é o que lhe dá essa cor tão característica.\n"
            "Resposta: MARTE",
        ),
    },
    "de": {
        "capital": (
            "Was ist die Hauptstadt von Australien? Schließe mit einer Zeile „Antwort:“ und der kurzen Antwort.",
            ["Canberra"],
            "Viele denken an Sydney, aber die Hauptstadt Australiens ist Canberra, die als Kompromiss zwischen "
            "Sydney und Melbourne gewählt wurde.\nAntwort: Canberra",
            "Die größte und bekannteste Stadt des Landes ist auch seine Hauptstadt, also Sydney.\nAntwort: Sydney",
            "Weder Sydney noch Melbourne, sondern eine Stadt, die eigens für die Regierung gebaut wurde.\n"
            "Antwort: „Canberra“",
        ),
        "planet": (
            "Welcher Planet wird der Rote Planet genannt? Schließe mit einer Zeile „Antwort:“ und der kurzen "
            "Antwort.",
            ["Mars"],
            "Eisenoxid auf seiner Oberfläche verleiht ihm eine rötliche Farbe; er ist der vierte Planet des "
            "Sonnensystems.\nAntwort: Mars",
            "Der heißeste Planet des Sonnensystems leuchtet orange, also ist es die Venus.\nAntwort: die Venus",
            "Sein Staub enthält sehr viel Eisenoxid und färbt deshalb die ganze Oberfläche.\nAntwort: der Mars",
        ),
    },
    "ja": {
        "capital": (
            "オーストラリアの首都はどこですか？最後に「答え：」の行で短く答えてください。",
            ["キャンベラ", "Canberra"],
            "多くの人はシドニーだと思いますが、オーストラリアの首都はシドニーとメルボルンの妥協案として選ばれた"
            "キャンベラです。\n答え：キャンベラ",
            "オーストラリアで最も大きく有名な都市が首都なので、シドニーです。\n答え：シドニー",
            "シドニーでもメルボルンでもなく、政府のために計画して建設された都市です。\n答え：「キャンベラ」",
        ),
        "planet": (
            "赤い惑星と呼ばれる惑星はどれですか？最後に「答え：」の行で短く答えてください。",
            ["火星", "Mars"],
            "表面の酸化鉄が赤みがかった色を与えています。太陽系の四番目の惑星です。\n答え：火星",
            "太陽系で最も大きい惑星には大赤斑があるので、木星です。\n答え：木星",
            "酸化鉄を多く含む砂が表面をおおっているので、赤く見えるのです。\n\\boxed{火星}",
        ),
    },
    "zh": {
        "capital": (
            "澳大利亚的首都是哪里？最后用一行“答案：”给出简短的回答。",
            ["堪培拉", "Canberra"],
            "很多人以为是悉尼，但澳大利亚的首都是堪培拉，它是悉尼和墨尔本之间的折中选择。\n答案：堪培拉",
            "澳大利亚最大、最有名的城市就是首都，所以是悉尼。\n答案：悉尼",
            "既不是悉尼也不是墨尔本，而是一座专门为政府规划建设的城市。\n答案：「堪培拉」。",
        ),
        "planet": (
            "哪颗行星被称为红色星球？最后用一行“答案：”给出简短的回答。",
            ["火星", "Mars"],
            "它表面的氧化铁使它呈现红色，它是太阳系的第四颗行星。\n答案：火星",
            "太阳系最大的行星上有一个大红斑，所以是木星。\n答案：木星",
            "它表面富含氧化铁的尘土让整个星球看起来都是红色的。\n答案：**火星**",
        ),
    },
    "ko": {
        "capital": (
            "호주의 수도는 어디입니까? 마지막 줄에 \"정답:\" 다음에 짧게 답하세요.",
            ["캔버라", "Canberra"],
            "많은 사람들이 시드니라고 생각하지만, 호주의 수도는 시드니와 멜버른 사이의 타협안으로 선택된 "
            "캔버라입니다.\n정답: 캔버라",
            "호주에서 가장 크고 유명한 도시가 수도이므로 시드니입니다.\n정답: 시드니",
            "시드니도 멜버른도 아니고, 정부를 위해 처음부터 계획해서 만든 도시입니다.\n정답: 캔버라.",
        ),
        "planet": (
            "붉은 행성이라고 불리는 행성은 무엇입니까? 마지막 줄에 \"정답:\" 다음에 짧게 답하세요.",
            ["화성", "Mars"],
            "표면의 산화철 때문에 붉은빛을 띠며, 태양계의 네 번째 행성입니다.\n정답: 화성",
            "태양계에서 가장 큰 행성에는 대적점이 있으므로 목성입니다.\n정답: 목성",
            "표면을 덮은 먼지에 산화철이 많아서 행성 전체가 붉게 보입니다.\n정답: \"화성\"",
        ),
    },
    "ru": {
        "capital": (
            "Какой город является столицей Австралии? В конце напишите строку «Ответ:» с коротким ответом.",
            ["Канберра", "Canberra"],
            "Многие думают, что это Сидней, но столица Австралии — Канберра, выбранная как компромисс между "
            "Сиднеем и Мельбурном.\nОтвет: Канберра",
            "Самый большой и известный город страны и есть её столица, то есть Сидней.\nОтвет: Сидней",
            "Это не Сидней и не Мельбурн, а город, специально построенный для правительства.\nОтвет: КАНБЕРРА!",
        ),
        "planet": (
            "Какую планету называют Красной планетой? В конце напишите строку «Ответ:» с коротким ответом.",
            ["Марс", "Mars"],
            "Оксид железа на её поверхности придаёт ей красноватый цвет; это четвёртая планета Солнечной системы.\n"
            "Ответ: Марс",
            "У самой большой планеты Солнечной системы есть Большое красное пятно, значит, это Юпитер.\n"
            "Ответ: Юпитер",
            "Пыль на её поверхности, богатая оксидом железа, делает всю планету красной.\nОтвет: «Марс»",
        ),
    },
}


def rows() -> list[dict]:
    out = []
    for lang, questions in TEXTS.items():
        for qid, (question, gold, native, wrong, surface) in questions.items():
            for kind, response in (("native", native), ("english", ENGLISH[qid]), ("wrong", wrong),
                                   ("surface", surface)):
                out.append({"uid": f"{lang}-{qid}", "lang": lang, "kind": kind, "question": question,
                            "response": response, "ground_truth": gold, "data_source": f"sample_qa/{lang}"})
    return out


def main() -> None:
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({len(rows())} rollouts)")


if __name__ == "__main__":
    main()
