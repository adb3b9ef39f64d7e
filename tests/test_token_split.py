"""The U/R token split on the real (offline) Qwen2.5 tokenizer, for text in several scripts."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verl_multiling.rewards.tapo import DEFAULT_TAGS, parse_response
from verl_multiling.scorers.token_split import count_prefix_tokens, split_response_tokens, tokens_covering

TRANSLATION = "Janet's ducks lay 16 eggs per day. How many dollars does she make?"
REASONING = {
    "latin": "Elle a 16 - 3 - 4 = 9 œufs, donc 9 \\times 2 = 18. \\boxed{18}",
    "cjk": "她还剩 16 - 3 - 4 = 9 个蛋，所以赚 18 美元。答案是 \\boxed{18}。",
    "japanese": "残りは9個なので、18ドルです。答えは \\boxed{18} です。",
    "cyrillic": "У неё остаётся 9 яиц, значит 18 долларов. \\boxed{18}",
    "thai": "เหลือไข่ 9 ฟอง ดังนั้นได้ 18 ดอลลาร์ \\boxed{18}",
    "bengali": "বিক্রির জন্য ৯টি ডিম থাকে, তাই ১৮ ডলার। \\boxed{18}",
    "telugu": "ఆమె దగ్గర 9 గుడ్లు మిగులుతాయి. \\boxed{18}",
    "arabic": "يتبقى 9 بيضات، إذن 18 دولارًا. \\boxed{18}",
}
JOINERS = ["", "\n", "\n\n", " ", ".", "。", "\n\n**Step 1**"]


@pytest.fixture(scope="module")
def tok(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tokenizer_dir))


def brute_force(tok, ids, target):
    for k in range(len(ids) + 1):
        if tok.decode(ids[:k], skip_special_tokens=True).startswith(target):
            return k
    return 0


def u_end(text):
    parsed = parse_response(text, DEFAULT_TAGS)
    assert parsed.reason == "ok", parsed
    return parsed.u_char_end


@pytest.mark.parametrize("script", sorted(REASONING))
@pytest.mark.parametrize("joiner", JOINERS)
def test_split_on_generated_ids_matches_brute_force(tok, script, joiner):
    text = f"<translation>{TRANSLATION}</translation>{joiner}{REASONING[script]}"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    end = u_end(text)
    split = split_response_tokens(ids, tok, end)
    assert split.reason == "ok"
    assert split.n_tokens == brute_force(tok, ids, text[:end])
    u_text = tok.decode(ids[: split.n_tokens])
    assert u_text.startswith(text[:end]) and not tok.decode(ids[: split.n_tokens - 1]).startswith(text[:end])
    # the R tokens hold the reasoning, minus at most what a merged boundary token took into U
    r_text = tok.decode(ids[split.n_tokens:])
    assert (u_text + r_text) == text and r_text.endswith(REASONING[script][-5:])


def test_merged_closing_tag_belongs_to_u(tok):
    text = f"<translation>{TRANSLATION}</translation>\n\nSo \\boxed{{18}}"
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    pieces = [tok.decode([i]) for i in enc["input_ids"]]
    assert ">\n\n" in pieces  # Qwen2.5 merges the tag's '>' with the newlines: one token spans the boundary
    split = split_response_tokens(enc["input_ids"], tok, u_end(text))
    assert pieces[split.n_tokens - 1] == ">\n\n"
    # the offsets route (re-tokenised text) agrees with the generated-ids route
    assert tokens_covering(enc["offset_mapping"], u_end(text)) == split.n_tokens


def test_non_canonical_segmentation_byte_tokens(tok):
    # the policy may emit a segmentation the tokenizer would not produce: byte-level tokens that split
    # multi-byte characters around the tag; the split must follow the generated ids
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    byte_token = bytes_to_unicode()
    head = f"<translation>{TRANSLATION}"
    tail = "</translation>珍妮特 \\boxed{18}"
    ids = tok(head, add_special_tokens=False)["input_ids"]
    ids += [tok.convert_tokens_to_ids(byte_token[b]) for b in tail.encode("utf-8")]
    text = tok.decode(ids)
    assert text == head + tail
    end = u_end(text)
    split = split_response_tokens(ids, tok, end)
    assert split.n_tokens == len(tok(head, add_special_tokens=False)["input_ids"]) + len("</translation>")
    assert split.n_tokens == brute_force(tok, ids, text[:end])


def test_special_tokens_are_skipped_like_the_manager_decodes(tok):
    text = f"<translation>{TRANSLATION}</translation>\n\\boxed{{18}}"
    ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.convert_tokens_to_ids("<|im_end|>")]
    split = split_response_tokens(ids, tok, u_end(text))
    assert split.n_tokens == brute_force(tok, ids, text[: u_end(text)])


def test_unaligned_and_empty_spans_are_reasons_not_errors(tok):
    ids = tok("<translation>abc</translation>", add_special_tokens=False)["input_ids"]
    assert split_response_tokens(ids, tok, 0).reason == "empty_span"
    wrong_text = "<translation>xyz</translation>"
    assert split_response_tokens(ids, tok, len(wrong_text), text=wrong_text).reason == "unaligned"
    assert split_response_tokens([], tok, 5, text="hello").reason == "unaligned"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(translation=st.text(min_size=1, max_size=40).filter(lambda s: "<" not in s and s.strip()),
       after=st.text(max_size=30))
def test_property_shortest_covering_prefix(tok, translation, after):
    text = f"<translation>{translation}</translation>{after}"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    decoded = tok.decode(ids)
    end = decoded.find("</translation>") + len("</translation>")
    split = split_response_tokens(ids, tok, end, text=decoded)
    assert split.n_tokens == brute_force(tok, ids, decoded[:end])


def test_count_prefix_tokens_is_logarithmic_in_decodes():
    calls = []
    pieces = ["a"] * 1000

    def dec(ks):
        calls.append(len(ks))
        return "".join(pieces[k] for k in ks)

    split = count_prefix_tokens(dec, list(range(1000)), "a" * 37)
    assert split.n_tokens == 37
    assert len(calls) <= 2 * 10 + 2 and max(calls) <= 64  # never decodes far past the span
