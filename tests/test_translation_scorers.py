"""Translation scorers: chrF against sacrebleu, the batching scorer, the per-node Ray actor, COMET parity."""

import os
from pathlib import Path
import threading
import time

import pytest

from verl_multiling.scorers.scoring_service import BatchingScorer, actor_name, get_translation_scorer
from verl_multiling.scorers.translation import ChrFScorer, TranslationConfig, TranslationScorer, get_local_scorer

HYPS = ["Janet's ducks lay 16 eggs a day.", "Tom buys five boxes of pencils.", "x", ""]
REFS = ["Janet's ducks lay 16 eggs per day.", "Tom buys 5 boxes of 12 pencils.", "Janet", "Janet"]


class CountingScorer(TranslationScorer):
    """Scores len(hyp) / 100 and records every call's batch size (a real scorer, not a mock of one)."""

    name = "length"
    needs_reference = False

    def __init__(self, fail_on=None, delay_s=0.0):
        self.calls, self.fail_on, self.delay_s = [], fail_on, delay_s

    def score(self, hypotheses, references=None, sources=None):
        self.calls.append(len(hypotheses))
        time.sleep(self.delay_s)
        if self.fail_on is not None and self.fail_on in hypotheses:
            raise RuntimeError("bad segment")
        return [len(h) / 100 for h in hypotheses]


def test_chrf_matches_sacrebleu_sentence_scores():
    from sacrebleu.metrics import CHRF

    ours = ChrFScorer().score(HYPS, REFS)
    ref = [CHRF().sentence_score(h, [r]).score / 100 for h, r in zip(HYPS, REFS)]
    assert ours == pytest.approx(ref, abs=1e-12)
    assert ours[0] > ours[1] > 0 and ours[3] == 0.0
    plus = ChrFScorer(word_order=2).score(HYPS[:1], REFS[:1])[0]
    assert plus == pytest.approx(CHRF(word_order=2).sentence_score(HYPS[0], [REFS[0]]).score / 100)


def test_chrf_needs_references():
    with pytest.raises(ValueError, match="2 hypotheses need 2 references, got none"):
        ChrFScorer().score(HYPS[:2])


def test_chrf_is_shared_per_process_and_thread_safe():
    cfg = TranslationConfig()
    assert get_local_scorer(cfg) is get_local_scorer(cfg) is get_translation_scorer(cfg)
    scorer, results = get_local_scorer(cfg), {}

    def work(i):
        results[i] = scorer.score(HYPS * 50, REFS * 50)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert all(results[i] == results[0] for i in results)


def test_concurrent_requests_are_batched_together():
    inner = CountingScorer(delay_s=0.02)
    batcher = BatchingScorer(inner, max_batch=64, max_wait_ms=50)
    out = {}

    def work(i):
        out[i] = batcher.score([f"segment {i}" + "!" * i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert all(out[i] == [len(f"segment {i}" + "!" * i) / 100] for i in range(16))  # each caller gets its own
    assert sum(inner.calls) == 16 and len(inner.calls) < 16  # fewer model calls than requests
    assert batcher.stats.requests == 16 and batcher.stats.batches == len(inner.calls)


def test_max_batch_bounds_a_call_and_a_failure_stays_in_its_batch():
    inner = CountingScorer(fail_on="boom")
    batcher = BatchingScorer(inner, max_batch=3, max_wait_ms=1)
    assert batcher.score(["a", "bb", "ccc"]) == [0.01, 0.02, 0.03]
    with pytest.raises(RuntimeError, match="bad segment"):
        batcher.score(["boom"])
    assert batcher.score(["dddd"]) == [0.04]  # the batcher keeps serving
    assert batcher.stats.failed_batches == 1


def test_service_config_errors_name_the_field():
    with pytest.raises(ValueError, match="multiling.tapo.translation.service.num_gpus"):
        TranslationConfig.from_node({"service": {"num_gpus": -1}})
    with pytest.raises(ValueError, match="multiling.tapo.translation.comet.dtype"):
        TranslationConfig.from_node({"metric": "comet", "comet": {"checkpoint": "/x", "dtype": "fp8"}})


@pytest.mark.ray
def test_one_named_actor_per_node_batches_concurrent_clients(ray_cluster):
    import ray

    from verl_multiling.scorers.scoring_service import NAMESPACE, RemoteScorer, get_or_create_actor

    cfg = TranslationConfig.from_node({"service": {"mode": "ray", "max_wait_ms": 100, "num_cpus": 0}})
    scorer = get_translation_scorer(cfg)
    assert isinstance(scorer, RemoteScorer)
    node = ray.get_runtime_context().get_node_id()
    again = get_or_create_actor(cfg)  # get_if_exists: the same actor
    assert again._actor_id == ray.get_actor(actor_name(cfg, node), namespace=NAMESPACE)._actor_id
    assert scorer.handle._actor_id == again._actor_id

    @ray.remote(num_cpus=0)
    def client(i):
        return get_translation_scorer(cfg).score([HYPS[i % 3]], [REFS[i % 3]])

    results = ray.get([client.remote(i) for i in range(12)])
    expected = ChrFScorer().score(HYPS[:3], REFS[:3])
    assert [r[0] for r in results] == pytest.approx([expected[i % 3] for i in range(12)])
    stats = scorer.stats()
    assert stats["requests"] == 12 and stats["batches"] < 12
    ray.kill(scorer.handle)


# ---- COMET ------------------------------------------------------------------------------------------------

# unbabel-comet's own environment: built by `bash scripts/setup.sh --with-comet` (the README's test command)
COMET_PYTHON = os.environ.get(
    "VERL_MULTILING_COMET_PYTHON", str(Path(__file__).resolve().parent.parent / ".venv-comet" / "bin" / "python"))
SRCS = ["Les canards de Janet pondent 16 œufs par jour.", "汤姆买了5盒铅笔。", "Bata wa Janet hutaga mayai 16.",
        "x"]
COMET_HYPS = ["Janet's ducks lay 16 eggs a day.", "Tom bought 5 boxes of pencils.", "Janet's ducks lay 16 eggs.",
              "" ]
COMET_REFS = ["Janet's ducks lay 16 eggs per day.", "Tom buys 5 boxes of pencils.", "Janet's ducks lay 16 eggs daily.",
              "y"]
# a fifth example longer than the encoder's 512 positions: exercises COMET's truncation rules
_LONG = " ".join(f"Janet sells {i} eggs and Tom buys {i + 1} pencils." for i in range(120))
SRCS.append("Les canards " + _LONG)
COMET_HYPS.append(_LONG)
COMET_REFS.append(_LONG[::-1])


KINDS = ("regression_metric", "unified_metric")


@pytest.fixture(scope="module")
def tiny_comets(tmp_path_factory):
    """Random checkpoints with wmt22-comet-da's and wmt22-cometkiwi-da's architecture, built offline here."""
    from verl_multiling.scorers.comet import build_random_checkpoint

    return {kind: build_random_checkpoint(tmp_path_factory.mktemp(kind), class_identifier=kind, seed=0)
            for kind in KINDS}


def comet_rows(kind):
    rows = [{"src": s, "mt": h, "ref": r} for s, h, r in zip(SRCS, COMET_HYPS, COMET_REFS)]
    return [{"src": r["src"], "mt": r["mt"]} for r in rows] if kind == "unified_metric" else rows


@pytest.fixture(scope="module")
def unbabel_scores(tiny_comets):
    """unbabel-comet 2.2.7's scores on both checkpoints, from its own venv (one subprocess)."""
    import json
    import subprocess

    if not os.path.exists(COMET_PYTHON):
        pytest.skip(f"unbabel-comet's separate venv is not at {COMET_PYTHON} (set VERL_MULTILING_COMET_PYTHON)")
    script = (
        "import json, sys\nfrom comet import load_from_checkpoint\nout = {}\n"
        "for kind, ckpt, rows in json.loads(sys.argv[1]):\n"
        "    m = load_from_checkpoint(ckpt, local_files_only=True)\n"
        "    out[kind] = [float(x) for x in m.predict(rows, batch_size=2, gpus=0, progress_bar=False).scores]\n"
        "print('SCORES=' + json.dumps(out))\n"
    )
    jobs = [(kind, str(path / "checkpoints" / "model.ckpt"), comet_rows(kind)) for kind, path in tiny_comets.items()]
    done = subprocess.run([COMET_PYTHON, "-c", script, json.dumps(jobs)], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("SCORES=")[-1])


@pytest.mark.parametrize("kind", KINDS)
def test_our_loader_scores_a_real_checkpoint_layout(tiny_comets, kind):
    from verl_multiling.scorers.comet import CometScorer

    path = tiny_comets[kind]
    scorer = CometScorer(path, device="cpu")
    assert scorer.reference_free == (kind == "unified_metric")
    raw = scorer.raw_scores(COMET_HYPS, COMET_REFS, SRCS)
    assert len(raw) == 5 and len(set(round(s, 6) for s in raw)) == 5  # inputs matter
    assert scorer.score(COMET_HYPS, COMET_REFS, SRCS) == pytest.approx([min(max(x, 0.0), 1.0) for x in raw])
    # length bucketing, batch size and de-duplication do not change any score
    small = CometScorer(path, device="cpu", batch_size=1).raw_scores(COMET_HYPS, COMET_REFS, SRCS)
    assert small == pytest.approx(raw, abs=1e-5)
    twice = scorer.raw_scores(COMET_HYPS * 2, COMET_REFS * 2, SRCS * 2)
    assert twice == pytest.approx(raw * 2, abs=1e-5)
    with pytest.raises(ValueError, match="sources"):
        scorer.score(COMET_HYPS, COMET_REFS, None)


@pytest.mark.parametrize("kind", KINDS)
def test_parity_with_unbabel_comet_in_its_own_environment(tiny_comets, unbabel_scores, kind):
    """Scores of our loader (transformers 5) == unbabel-comet 2.2.7's (transformers 4.57, separate venv)."""
    from verl_multiling.scorers.comet import CometScorer

    ours = CometScorer(tiny_comets[kind], device="cpu").raw_scores(
        COMET_HYPS, COMET_REFS if kind != "unified_metric" else None, SRCS)
    theirs = unbabel_scores[kind]
    diff = max(abs(a - b) for a, b in zip(ours, theirs))
    print(f"\n{kind}: largest |ours - unbabel-comet| = {diff:.1e}")  # shown with pytest -s
    assert diff < 1e-5, (ours, theirs)
    assert len(theirs) == 5 and len(set(round(x, 5) for x in theirs)) == 5  # a non-degenerate comparison


def test_metric_and_checkpoint_kind_must_agree(tiny_comets):
    from verl_multiling.scorers.translation import build_scorer

    cfg = TranslationConfig.from_node({"metric": "cometkiwi",
                                       "comet": {"checkpoint": str(tiny_comets["regression_metric"])}})
    with pytest.raises(ValueError, match="reference-based"):
        build_scorer(cfg)
    kiwi_dir = str(tiny_comets["unified_metric"])
    kiwi = TranslationConfig.from_node({"metric": "cometkiwi", "comet": {"checkpoint": kiwi_dir, "device": "cpu"}})
    assert build_scorer(kiwi).score(["Two apples."], None, ["Deux pommes."])[0] >= 0.0


# ---- COMET loading errors say what is wrong (issue 23: two broad excepts misreported them) --------------------

def test_a_truncated_comet_checkpoint_is_named_corrupt_not_untrusted(tmp_path):
    import torch

    from verl_multiling.scorers.comet import _load_checkpoint

    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": {"w": torch.ones(64, 64)}}, path)
    path.write_bytes(path.read_bytes()[:200])  # an interrupted copy
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    for broken in (path, empty):
        for trust in (False, True):  # trusting a corrupt file would not help: the same message
            with pytest.raises(ValueError, match=r"not a readable torch checkpoint, truncated or corrupt \(") as err:
                _load_checkpoint(broken, trust)
            assert "trust_checkpoint" not in str(err.value) and str(broken) in str(err.value)


def test_a_checkpoint_pickling_objects_asks_for_trust(tmp_path):
    import argparse

    import torch

    from verl_multiling.scorers.comet import _load_checkpoint

    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": argparse.Namespace(lr=1.0)}, path)
    with pytest.raises(ValueError, match=r"pickles objects beyond tensors .* set "
                                         r"multiling\.tapo\.translation\.comet\.trust_checkpoint=true"):
        _load_checkpoint(path, trust=False)
    assert _load_checkpoint(path, trust=True)["hyper_parameters"].lr == 1.0


def test_an_unreadable_hub_cache_is_named_not_reported_missing(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import HFValidationError

    from verl_multiling.scorers.comet import _encoder_files

    def unreadable(repo_id, filename, **kwargs):
        raise PermissionError(13, "Permission denied", "/cache/models--xlm-roberta-large")

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", unreadable)
    with pytest.raises(OSError, match=r"pretrained_model='xlm-roberta-large': the Hugging Face cache could not be "
                                      r"read \(PermissionError: .*Permission denied"):
        _encoder_files(tmp_path, {"pretrained_model": "xlm-roberta-large"}, None)

    def refused(repo_id, filename, **kwargs):
        raise HFValidationError(f"Repo id must be in the form 'repo_name': {repo_id!r}")

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", refused)  # not a hub name: not found, as before
    with pytest.raises(FileNotFoundError, match=r"not found in .* or the Hugging Face cache; put them in"):
        _encoder_files(tmp_path, {"pretrained_model": "not a hub name"}, None)
