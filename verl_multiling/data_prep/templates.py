r"""Per-recipe prompt templates, with the instruction written in the query language.

A prompt is one chat message (:func:`build_messages`) holding the question and the recipe's
instruction separated by a blank line: ``instruction + "\n\n" + question`` for ``adamame`` (the
authors' released layout), ``question + "\n\n" + instruction`` for the others
(:data:`INSTRUCTION_FIRST`); the model's chat template adds the assistant turn. The instruction
depends on the recipe (:data:`RECIPES`):

``adamame``     "reason step by step, final answer in ``\boxed{}``", in the query language: the
                authors' released sentences (their RL and SFT data builders; the language itself is
                not named), ours in the same form for ar, hi and vi which they did not release.
``reflection``  think inside ``<think>...</think>``, check the work, then the final answer in
                ``\boxed{}`` (the format reward of the reflection recipe checks exactly this).
``tapo``        understand-then-reason: first the question rendered in English inside
                ``<translation>...</translation>``, then the reasoning and ``\boxed{}``.

Instructions exist for the 15 languages of
:data:`verl_multiling.scorers.language_id.TASK_LANGUAGES` plus Vietnamese (MMATH):
ar bn de en es fr hi ja ko pt ru sw te th vi zh (:data:`LANGUAGES`).
"""

from __future__ import annotations

__all__ = ["INSTRUCTIONS", "INSTRUCTION_FIRST", "LANGUAGES", "RECIPES", "build_messages", "instruction",
           "render_prompt"]

#: recipe -> language -> instruction sentence (in that language).
INSTRUCTIONS: dict[str, dict[str, str]] = {
    # AdaMame: the authors' released wording (dayeonki/adamame, the RL and SFT data builders), which does
    # not name the language; ar, hi and vi have no released sentence: ours, in the same form.
    "adamame": {
        "ar": "يرجى التفكير خطوة بخطوة، ثم ضع إجابتك النهائية داخل \\boxed{}.",  # ours
        "bn": "অনুগ্রহ করে ধাপে ধাপে যুক্তি দেখান, এবং আপনার চূড়ান্ত উত্তরের চারপাশে \\boxed{} ব্যবহার করুন।",
        "de": "Bitte denken Sie Schritt für Schritt nach und schreiben Sie Ihre endgültige Antwort in \\boxed{}.",
        "en": "Please reason step by step, and put your final answer within \\boxed{}.",
        "es": "Por favor, razona paso a paso y coloca tu respuesta final dentro de \\boxed{}.",
        "fr": "Veuillez raisonner étape par étape et placer votre réponse finale dans \\boxed{}.",
        "hi": "कृपया चरण-दर-चरण सोचें और अपना अंतिम उत्तर \\boxed{} के अंदर लिखें।",  # ours
        "ja": "段階的に考えて、最終的な答えを \\boxed{} の中に入れてください。",
        "ko": "단계별로 추론하고, 최종 답을 \\boxed{} 안에 넣어주세요.",
        "pt": "Por favor, justifique passo a passo e coloque a sua resposta final dentro de \\boxed{}.",
        "ru": "Пожалуйста, рассуждайте шаг за шагом и поместите свой окончательный ответ в \\boxed{}.",
        "sw": "Tafadhali toa hoja hatua kwa hatua, na weka jibu lako la mwisho ndani ya \\boxed{}.",
        "te": "దయచేసి దశలవారీగా ఆలోచించండి, మరియు మీ తుది సమాధానాన్ని \\boxed{} లో వ్రాయండి.",
        "th": "กรุณาให้เหตุผลทีละขั้นตอน และใส่คำตอบสุดท้ายของคุณไว้ภายใน \\boxed{}",
        "vi": "Hãy suy luận từng bước và đặt câu trả lời cuối cùng trong \\boxed{}.",  # ours
        "zh": "请逐步推理，并将最终答案写在 \\boxed{} 中。",
    },
    "reflection": {
        "ar": "فكّر خطوة بخطوة داخل <think></think> وتحقق من عملك قبل الإجابة، ثم ضع الإجابة النهائية داخل \\boxed{}.",
        "bn": "<think></think> এর ভিতরে ধাপে ধাপে চিন্তা করুন, উত্তর দেওয়ার আগে আপনার কাজ যাচাই করুন, তারপর চূড়ান্ত উত্তরটি \\boxed{} এর মধ্যে লিখুন।",
        "de": "Denke Schritt für Schritt innerhalb von <think></think> nach, überprüfe deine Arbeit und schreibe dann die endgültige Antwort in \\boxed{}.",
        "en": "Think step by step inside <think></think>, check your work before answering, then put the final answer within \\boxed{}.",
        "es": "Piensa paso a paso dentro de <think></think>, verifica tu trabajo antes de responder y luego escribe la respuesta final dentro de \\boxed{}.",
        "fr": "Réfléchissez étape par étape dans <think></think>, vérifiez votre travail avant de répondre, puis donnez la réponse finale dans \\boxed{}.",
        "hi": "<think></think> के अंदर चरण-दर-चरण सोचें, उत्तर देने से पहले अपने काम की जाँच करें, फिर अंतिम उत्तर \\boxed{} के अंदर लिखें।",
        "ja": "<think></think> の中で段階的に考え、答える前に自分の計算を確認してから、最終的な答えを \\boxed{} の中に書いてください。",
        "ko": "<think></think> 안에서 단계별로 생각하고, 답하기 전에 풀이를 검토한 다음, 최종 답을 \\boxed{} 안에 적어 주세요.",
        "pt": "Pense passo a passo dentro de <think></think>, verifique seu trabalho antes de responder e depois coloque a resposta final dentro de \\boxed{}.",
        "ru": "Рассуждайте шаг за шагом внутри <think></think>, проверьте своё решение перед ответом, затем запишите окончательный ответ в \\boxed{}.",
        "sw": "Fikiri hatua kwa hatua ndani ya <think></think>, hakiki kazi yako kabla ya kujibu, kisha weka jibu la mwisho ndani ya \\boxed{}.",
        "te": "<think></think> లోపల దశలవారీగా ఆలోచించండి, సమాధానం ఇచ్చే ముందు మీ పనిని సరిచూసుకోండి, తర్వాత తుది సమాధానాన్ని \\boxed{} లో రాయండి.",
        "th": "คิดทีละขั้นตอนภายใน <think></think> ตรวจสอบคำตอบก่อนตอบ แล้วใส่คำตอบสุดท้ายไว้ใน \\boxed{}",
        "vi": "Hãy suy nghĩ từng bước trong <think></think>, kiểm tra lại lời giải trước khi trả lời, rồi đặt câu trả lời cuối cùng trong \\boxed{}.",
        "zh": "请在 <think></think> 中逐步思考，作答前检查你的推理，然后将最终答案写在 \\boxed{} 中。",
    },
    "tapo": {
        "ar": "أولاً، اكتب السؤال باللغة الإنجليزية داخل <translation></translation>، ثم حلّه خطوة بخطوة وضع الإجابة النهائية داخل \\boxed{}.",
        "bn": "প্রথমে প্রশ্নটি ইংরেজিতে অনুবাদ করে <translation></translation> এর মধ্যে লিখুন, তারপর ধাপে ধাপে সমাধান করুন এবং চূড়ান্ত উত্তরটি \\boxed{} এর মধ্যে লিখুন।",
        "de": "Übersetze zuerst die Frage ins Englische innerhalb von <translation></translation>, löse sie dann Schritt für Schritt und schreibe die endgültige Antwort in \\boxed{}.",
        "en": "First restate the question in English inside <translation></translation>, then solve it step by step and put the final answer within \\boxed{}.",
        "es": "Primero traduce la pregunta al inglés dentro de <translation></translation>, luego resuélvela paso a paso y escribe la respuesta final dentro de \\boxed{}.",
        "fr": "Traduisez d'abord la question en anglais dans <translation></translation>, puis résolvez-la étape par étape et donnez la réponse finale dans \\boxed{}.",
        "hi": "पहले प्रश्न का अंग्रेज़ी में अनुवाद <translation></translation> के अंदर लिखें, फिर चरण-दर-चरण हल करें और अंतिम उत्तर \\boxed{} के अंदर लिखें।",
        "ja": "まず問題を英語に翻訳して <translation></translation> の中に書き、次に段階的に解いて、最終的な答えを \\boxed{} の中に書いてください。",
        "ko": "먼저 문제를 영어로 번역하여 <translation></translation> 안에 적고, 단계별로 풀이한 뒤 최종 답을 \\boxed{} 안에 적어 주세요.",
        "pt": "Primeiro traduza a pergunta para o inglês dentro de <translation></translation>, depois resolva passo a passo e coloque a resposta final dentro de \\boxed{}.",
        "ru": "Сначала переведите вопрос на английский внутри <translation></translation>, затем решите его шаг за шагом и запишите окончательный ответ в \\boxed{}.",
        "sw": "Kwanza tafsiri swali kwa Kiingereza ndani ya <translation></translation>, kisha litatue hatua kwa hatua na uweke jibu la mwisho ndani ya \\boxed{}.",
        "te": "ముందుగా ప్రశ్నను ఆంగ్లంలోకి అనువదించి <translation></translation> లో రాయండి, తర్వాత దశలవారీగా పరిష్కరించి తుది సమాధానాన్ని \\boxed{} లో రాయండి.",
        "th": "ขั้นแรกให้แปลคำถามเป็นภาษาอังกฤษไว้ใน <translation></translation> จากนั้นแก้โจทย์ทีละขั้นตอนและใส่คำตอบสุดท้ายไว้ใน \\boxed{}",
        "vi": "Trước tiên hãy dịch câu hỏi sang tiếng Anh trong <translation></translation>, sau đó giải từng bước và đặt câu trả lời cuối cùng trong \\boxed{}.",
        "zh": "请先将问题翻译成英文写在 <translation></translation> 中，然后逐步求解，并将最终答案写在 \\boxed{} 中。",
    },
}

#: Recipes whose prompt puts the instruction before the question (AdaMame's released data does).
INSTRUCTION_FIRST: frozenset[str] = frozenset({"adamame"})
#: The recipes that have a template.
RECIPES: tuple[str, ...] = tuple(sorted(INSTRUCTIONS))
#: Languages with an instruction in every recipe.
LANGUAGES: tuple[str, ...] = tuple(
    sorted(set.intersection(*(set(table) for table in INSTRUCTIONS.values())))
)


def instruction(recipe: str, lang: str) -> str:
    r"""The instruction sentence of ``recipe`` in ``lang``.

    >>> instruction("adamame", "fr")
    'Veuillez raisonner étape par étape et placer votre réponse finale dans \\boxed{}.'

    Raises:
        ValueError: unknown recipe or language (the message lists the valid ones).
    """
    if recipe not in INSTRUCTIONS:
        raise ValueError(f"unknown recipe {recipe!r} for --recipe; valid: {list(RECIPES)}")
    table = INSTRUCTIONS[recipe]
    code = str(lang).strip().lower()
    if code not in table:
        raise ValueError(
            f"no {recipe} prompt template for language code {lang!r}; valid codes: {sorted(table)} "
            "(add a sentence to verl_multiling/data_prep/templates.py:INSTRUCTIONS)"
        )
    return table[code]


def render_prompt(question: str, recipe: str, lang: str) -> str:
    r"""The recipe's instruction in ``lang`` and ``question``, separated by a blank line: instruction
    first for the recipes in :data:`INSTRUCTION_FIRST`, question first otherwise.

    >>> render_prompt("2+2?", "tapo", "en").splitlines()[0]
    '2+2?'
    >>> render_prompt("2+2 ?", "adamame", "fr").split("\n\n")
    ['Veuillez raisonner étape par étape et placer votre réponse finale dans \\boxed{}.', '2+2 ?']
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"empty question for language {lang!r}; every row needs a non-empty question")
    if recipe in INSTRUCTION_FIRST:
        return f"{instruction(recipe, lang)}\n\n{question.strip()}"
    return f"{question.strip()}\n\n{instruction(recipe, lang)}"


def build_messages(question: str, recipe: str, lang: str) -> list[dict[str, str]]:
    """The verl ``prompt`` column value: one user chat message.

    >>> build_messages("1+1?", "adamame", "ja")[0]["role"]
    'user'
    """
    return [{"role": "user", "content": render_prompt(question, recipe, lang)}]
