"""The append-only writer of the two resumable jobs (verl_multiling/plumbing/resumable_jsonl.py), issue 13 items 1-3.

* Kill and resume, both jobs (``verl-multiling generate``, the pivot-reference job), 0 lost and 0 duplicated:
  an in-process simulation of a SIGKILL at every byte offset of a run's writes (a kill leaves a prefix of
  the bytes written, in order) and on both sides of the recovery, random chains of such kills, and real
  subprocesses killed with SIGKILL at random moments, some while the file is opened and recovered.
* Item 1: recovery cuts the torn tail in place (same inode, prefix untouched, no truncating open).
* Item 2: a tear inside a multi-byte character; a truncated settings.json, a ``null`` line, a record without
  its key: clear errors naming file and line, and ``--repair`` keeps the finished work.
* Item 3: appends read nothing (bytes read per append, measured by the kernel's /proc/self/io).

The jobs are the real ones; tests/resumable_jobs_worker.py gives them a deterministic text source instead of a
model, so a run takes milliseconds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from verl_multiling.evaluation.generate import sample_key
from verl_multiling.jobs.pivot_generation import SettingsFileError, check_settings, read_done, record_key
from verl_multiling.plumbing.resumable_jsonl import (
    AppendOnlyJsonl,
    BadLinesError,
    FileInUseError,
    encode_record,
    field_key,
    scan,
)
from verl_multiling.plumbing.resumable_jsonl import main as jsonl_main

WORKER = Path(__file__).with_name("resumable_jobs_worker.py")
_spec = importlib.util.spec_from_file_location("resumable_jobs_worker", WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

PART = "part-00000-of-00001.jsonl"


# ---------------------------------------------------------------------------------------------------
# the two jobs, as the simulation sees them
# ---------------------------------------------------------------------------------------------------


def write_questions(path: Path, n: int) -> Path:
    langs = ("fr", "ja")
    path.write_text("".join(json.dumps({"id": f"q{i}", "lang": langs[i % 2], "question": f"{i} + {i} = ? é",
                                        "ground_truth": str(2 * i)}, ensure_ascii=False) + "\n"
                            for i in range(n)), encoding="utf-8")
    return path


def write_train(path: Path, n: int) -> Path:
    rows = [{"prompt": [{"role": "user", "content": f"[fr] q{i}"}], "lang": "fr",
             "question_en": f"What is {i} + {i}? ü", "reward_model": {"ground_truth": str(2 * i)}}
            for i in range(n)]
    pd.DataFrame(rows).to_parquet(path)
    return path


def generate_job(root: Path, questions: int, size: int):
    data = write_questions(root / "questions.jsonl", questions)
    return SimpleNamespace(
        name="generate", key_of=sample_key, target=lambda d: d / "run.jsonl", prepare=lambda d: None,
        run=lambda d: worker.run_generate(data, d / "run.jsonl", size),
        expected_count=questions * worker.GENERATE_K, data=data)


def pivot_job(root: Path, questions: int, size: int):
    data = write_train(root / "train.parquet", questions)
    return SimpleNamespace(
        name="pivot", key_of=record_key, target=lambda d: d / "work" / PART,
        prepare=lambda d: check_settings(d / "work", worker.pivot_settings()),  # as left by the first start
        run=lambda d: worker.run_pivot(data, d / "work", size), expected_count=questions, data=data)


JOBS = {"generate": generate_job, "pivot": pivot_job}


@pytest.fixture()
def no_fsync(monkeypatch):
    """fsync orders the disk for a power cut; what a process reads back after a SIGKILL (the page cache) is
    the same with or without it. The in-process simulations skip it (3 ms each here); the real-SIGKILL test
    and the other tests keep it."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def comparable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}  # the pivot job's timing field


class Sandbox:
    """Fresh directories holding one file state each."""

    def __init__(self, root: Path, job):
        self.root, self.job, self.count = root, job, 0

    def with_state(self, state: bytes) -> Path:
        self.count += 1
        d = self.root / f"s{self.count}"
        target = self.job.target(d)
        target.parent.mkdir(parents=True)
        self.job.prepare(d)
        target.write_bytes(state)
        return d


def kill_states(job, box: Sandbox, state: bytes) -> tuple[list[bytes], bytes]:
    """Every file content a SIGKILL can leave during one run of ``job`` started on ``state``, and the content
    after an uninterrupted run.

    The run first opens the writer (its only change: cut a torn tail, or add a whole record's newline),
    then appends. A kill leaves: ``state`` (before the recovery acted), the recovered state, or the
    recovered state plus a prefix of the bytes the run appends (a killed write leaves its bytes in order).
    """
    d = box.with_state(state)
    AppendOnlyJsonl(job.target(d), job.key_of).close()  # the recovery alone, exactly as the job opens it
    recovered = job.target(d).read_bytes()
    job.run(d)
    final = job.target(d).read_bytes()
    assert final.startswith(recovered)
    appended = final[len(recovered):]
    return [state, recovered] + [recovered + appended[:k] for k in range(1, len(appended))], final


def committed(state: bytes) -> bytes:
    return state[: state.rfind(b"\n") + 1]


def check_complete(job, final: bytes, expected: dict, after: bytes = b"") -> None:
    """0 lost, 0 duplicated, nothing rewritten: every line a record, each key once, the expected content,
    and every line committed before the kill still there byte for byte."""
    assert final.startswith(committed(after)), "a record written before the kill was rewritten or lost"
    assert final.endswith(b"\n")
    records = [json.loads(line) for line in final.split(b"\n") if line]
    keys = [job.key_of(r) for r in records]
    assert len(keys) == len(set(keys)), "a record was written twice"
    assert set(keys) == set(expected), "a record is missing"
    assert all(comparable(r) == expected[job.key_of(r)] for r in records)


def reference(job, box: Sandbox) -> tuple[bytes, dict]:
    d = box.with_state(b"")
    job.run(d)
    full = job.target(d).read_bytes()
    expected = {job.key_of(r): comparable(r) for r in map(json.loads, full.splitlines())}
    assert len(expected) == job.expected_count
    return full, expected


def cut_inside_a_character(full: bytes, line: int) -> bytes:
    """The file's first ``line`` lines, then the next line cut inside a 4-byte character (a torn write)."""
    start = sum(len(x) for x in full.splitlines(keepends=True)[:line])
    emoji = full.index("🙂".encode(), start)
    return full[: emoji + 2]


# ---------------------------------------------------------------------------------------------------
# the kill-and-resume property, both jobs
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(JOBS))
def test_a_kill_at_every_byte_offset_and_inside_the_recovery_loses_and_duplicates_nothing(name, tmp_path, no_fsync):
    job = JOBS[name](tmp_path, questions=3, size=12)
    box = Sandbox(tmp_path, job)
    full, expected = reference(job, box)
    start = cut_inside_a_character(full, 1)  # one record written, the second torn inside a character
    with pytest.raises(UnicodeDecodeError):
        start[start.rfind(b"\n") + 1:].decode("utf-8")
    states, _ = kill_states(job, box, start)
    assert states[0] == start and states[1] == committed(start)  # both sides of the recovery's cut
    print(f"{name}: {len(states)} kill states")
    assert len(states) >= 300, len(states)  # every byte of the resumed run's writes
    for state in states:
        d = box.with_state(state)
        job.run(d)  # the rerun of the same command
        check_complete(job, job.target(d).read_bytes(), expected, after=state)


@pytest.mark.parametrize("name", sorted(JOBS))
def test_chains_of_kills_at_random_offsets_end_with_every_record_once(name, tmp_path, no_fsync):
    job = JOBS[name](tmp_path, questions=3, size=12)
    box = Sandbox(tmp_path, job)
    _, expected = reference(job, box)
    rng = random.Random(13)
    kills = 0
    for _ in range(12):
        state, history = b"", []
        for _ in range(rng.randint(1, 5)):  # killed 1-5 times, each at a random moment of that run
            states, _ = kill_states(job, box, state)
            state = rng.choice(states)
            history.append(state)
            kills += 1
        d = box.with_state(state)
        job.run(d)
        final = job.target(d).read_bytes()
        for earlier in history:
            check_complete(job, final, expected, after=earlier)
    assert kills >= 30


def _rchar() -> int:
    """Bytes this process has read through read(2) so far (the kernel's count, page cache included)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def _proc(cmd: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


SIGKILL_TEXT = 4000  # characters per response: ~10 KB records, batches of 2, 40 batches of 10 ms "model time"
FILLER_MB = 4  # records of other keys already in the output: each start scans them (tens of ms)


def _child_rchar(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no rchar for {pid}")


def _filler(name: str) -> list[dict]:
    """Records of keys the job does not make, about FILLER_MB MB."""
    text = worker.text_for("filler", SIGKILL_TEXT)
    count = FILLER_MB * 2**20 // len(encode_record({"response": text}))
    if name == "generate":
        return [{"run": "old", "id": f"f{i}", "lang": "xx", "sample_index": 0, "response": text} for i in range(count)]
    return [{"key": f"{i:040x}", "prompt": "filler", "response": text} for i in range(count)]


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/<pid>/io")
@pytest.mark.parametrize("name", sorted(JOBS))
def test_real_sigkill_at_random_moments_loses_and_duplicates_nothing(name, tmp_path):
    """The jobs as separate processes, killed with SIGKILL, then rerun to the end: three times while the
    output is opened (the recovery's scan: killed once the child has read a random 5-40 % of the file, the
    first time with a torn tail to cut), three times at a random moment of the writes."""
    job = JOBS[name](tmp_path, questions=40 if name == "generate" else 80, size=SIGKILL_TEXT)  # 80 records
    d = tmp_path / "run"
    target = job.target(d)
    target.parent.mkdir(parents=True)
    job.prepare(d)
    filler = _filler(name)
    last = encode_record(filler.pop())
    target.write_bytes(b"".join(map(encode_record, filler)) + last[: last.index("🙂".encode()) + 3])  # torn
    cmd = [sys.executable, str(WORKER), name, str(job.data), str(target if name == "generate" else target.parent),
           str(SIGKILL_TEXT)]
    rng = random.Random(1013)
    snapshots, phases = [target.read_bytes()], {"opening": 0, "writing": 0}
    for attempt in range(6):
        proc = _proc(cmd)
        assert proc.stdout.readline() == "start\n"
        if attempt % 2 == 0:  # inside the opening scan
            goal = _child_rchar(proc.pid) + rng.uniform(0.05, 0.4) * target.stat().st_size
            while proc.poll() is None and _child_rchar(proc.pid) < goal:
                time.sleep(0.0005)
        else:  # at a random moment of the writes
            assert proc.stdout.readline() == "batch\n"
            time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        markers = proc.stdout.read().split()
        assert "done" not in markers, "the job finished before the kill: give it more work"
        if attempt % 2 == 0:
            assert not markers, "killed after the opening: it ended before the kill landed"
        phases["writing" if attempt % 2 else "opening"] += 1
        snapshots.append(target.read_bytes())
    finished = _proc(cmd)
    out, _ = finished.communicate(timeout=120)
    assert finished.returncode == 0 and out.split()[-1] == "done"
    final = target.read_bytes()
    for snapshot in snapshots:
        assert final.startswith(committed(snapshot))  # nothing written before a kill was rewritten or lost
    records = [json.loads(line) for line in final.splitlines()]
    keys = [job.key_of(r) for r in records]
    assert len(keys) == len(set(keys)), "a record was written twice"
    assert len(keys) == len(filler) + job.expected_count, "a record is missing"
    made = records[len(filler):]
    for record in made:
        seed = f"{record['lang']}/{record['id']}/{record['sample_index']}" if name == "generate" else record["prompt"]
        assert record["response"] == worker.text_for(seed, SIGKILL_TEXT)
    torn = sum(not s.endswith(b"\n") for s in snapshots[1:] if s != snapshots[0])
    print(f"{name}: kills {phases}, {torn} left a new torn line; final {len(final)} bytes")


# ---------------------------------------------------------------------------------------------------
# item 1: recovery cuts in place, never rewrites the file
# ---------------------------------------------------------------------------------------------------

_AUDIT: list | None = None


def _audit_hook(event: str, args: tuple) -> None:
    if _AUDIT is not None and event in ("open", "os.truncate"):
        target = args[0]
        if isinstance(target, int):  # a file descriptor: the file it is open on, while it still is
            try:
                target = os.readlink(f"/proc/self/fd/{target}")
            except OSError:
                return
        _AUDIT.append((event, (target, *args[1:])))


sys.addaudithook(_audit_hook)


def _opens_and_truncates(path: Path, run) -> list[tuple[str, tuple]]:
    global _AUDIT
    _AUDIT = []
    try:
        run()
        events = _AUDIT
    finally:
        _AUDIT = None
    return [(event, args) for event, args in events if isinstance(args[0], (str, bytes, os.PathLike))
            and Path(os.fsdecode(args[0])).resolve() == path.resolve()]


@pytest.mark.parametrize("name", sorted(JOBS))
def test_recovery_cuts_the_torn_tail_in_place_and_never_rewrites_the_file(name, tmp_path):
    job = JOBS[name](tmp_path, questions=40, size=4000)
    box = Sandbox(tmp_path, job)
    full, expected = reference(job, box)
    start = cut_inside_a_character(full, 30)
    d = box.with_state(start)
    target = job.target(d)
    inode = target.stat().st_ino
    events = _opens_and_truncates(target, lambda: job.run(d))
    for event, args in events:
        if event == "open":
            mode, flags = args[1], args[2]
            assert not (mode and "w" in mode), f"the job reopened {target.name} for writing from scratch: {args}"
            assert not (flags or 0) & os.O_TRUNC, f"the job opened {target.name} with O_TRUNC: {args}"
        if event == "os.truncate":
            assert args[1] == len(committed(start)), f"a cut below the last complete line: {args}"
    assert sum(event == "os.truncate" for event, _ in events) == 1  # the one in-place cut
    assert target.stat().st_ino == inode
    check_complete(job, target.read_bytes(), expected, after=start)


def test_a_whole_record_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_bytes(b'{"key": "a"}\n{"key": "b", "t": "\xc3\xa9"}')
    with AppendOnlyJsonl(path, field_key(["key"])) as writer:
        assert writer.recovery == "newline added" and set(writer.keys) == {"a", "b"}
        writer.append([{"key": "c"}])
        with pytest.raises(ValueError, match=r"key 'c' is already written \(line 3\)"):
            writer.append([{"key": "c"}])
    assert path.read_bytes() == b'{"key": "a"}\n{"key": "b", "t": "\xc3\xa9"}\n{"key": "c"}\n'


# ---------------------------------------------------------------------------------------------------
# item 2: multi-byte tears, corrupt side files and records: clear errors, a way out that keeps the work
# ---------------------------------------------------------------------------------------------------


def test_eval_reads_a_file_torn_inside_a_multibyte_character(tmp_path):
    from verl_multiling.evaluation.io import read_generations

    path = tmp_path / "run.jsonl"
    good = [{"id": f"q{i}", "lang": "ja", "response": "答えは \\boxed{2}", "ground_truth": "2"} for i in range(3)]
    line = json.dumps({"id": "q3", "lang": "ja", "response": "答え"}, ensure_ascii=False).encode()
    path.write_bytes(b"".join(encode_record(r) for r in good) + line[: line.index("答".encode()) + 1])
    assert [r["id"] for r in read_generations(path)] == ["q0", "q1", "q2"]


def test_eval_names_a_null_line_in_the_middle(tmp_path):
    from verl_multiling.evaluation.cli import eval_main

    path = tmp_path / "run.jsonl"
    path.write_text('{"id": "a", "lang": "fr", "response": "1", "ground_truth": "1"}\nnull\n'
                    '{"id": "b", "lang": "fr", "response": "1", "ground_truth": "1"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"run.jsonl: 1 bad line.*line 2 \(byte 64\): null where a record"):
        from verl_multiling.evaluation.io import read_generations

        read_generations(path)
    assert eval_main([str(path), "--out", str(tmp_path / "eval"), "--no-plots"]) == 2


@pytest.mark.parametrize("bad_line", [b"null", b'{"run": "run", "lang": "fr", "response": "no id"}', b'{"id": "q0",'])
def test_generate_stops_on_a_bad_line_in_the_middle_and_repair_keeps_the_rest(bad_line, tmp_path, capsys):
    from verl_multiling.evaluation.cli import main

    job = generate_job(tmp_path, questions=3, size=12)
    box = Sandbox(tmp_path, job)
    full, expected = reference(job, box)
    lines = full.splitlines(keepends=True)
    d = box.with_state(b"".join(lines[:2]) + bad_line + b"\n" + b"".join(lines[3:]))
    out = job.target(d)
    args = ["generate", "--data", str(job.data), "--model", "no-model", "--out", str(out), "--k", "2"]
    assert main(args) == 2  # before any model is loaded
    err = capsys.readouterr().err
    assert f"{out}: 1 bad line(s)" in err and "line 3 (byte" in err and "--repair" in err
    assert "5 good records are intact" in err
    assert worker.run_generate(job.data, out, 12, repair=True) == 1  # only the moved-aside sample again
    check_complete(job, out.read_bytes(), expected, after=b"".join(lines[:2]))
    assert (out.parent / "run.jsonl.rejected").read_bytes() == bad_line + b"\n"


def test_pivot_job_names_a_bad_part_line_and_repair_keeps_the_finished_references(tmp_path, capsys):
    from verl_multiling.jobs.pivot_generation import main

    job = pivot_job(tmp_path, questions=4, size=12)
    box = Sandbox(tmp_path, job)
    full, expected = reference(job, box)
    lines = full.splitlines(keepends=True)
    keyless = json.dumps({k: v for k, v in json.loads(lines[2]).items() if k != "key"}).encode() + b"\n"
    d = box.with_state(lines[0] + b"null\n" + keyless + lines[3])  # lines 1 and 2 lost their records
    part = job.target(d)
    with pytest.raises(BadLinesError) as error:
        read_done(part.parent)  # was: TypeError / KeyError
    message = str(error.value)
    assert f"{part}: 2 bad line(s)" in message and "line 2 (byte" in message and "line 3 (byte" in message
    assert "a record without a usable key (missing key)" in message and "--repair" in message
    args = ["--input", str(job.data), "--output", str(d / "out.parquet"), "--work-dir", str(part.parent),
            "--model", "deterministic-text", "--template", worker.PIVOT_TEMPLATE, "--no-progress"]
    assert main(args) == 2 and "--repair" in capsys.readouterr().err
    result = worker.run_pivot(job.data, part.parent, 12, repair=True, merge=True)
    assert (result.generated, result.resumed, result.merged) == (2, 2, True)
    check_complete(job, part.read_bytes(), expected, after=lines[0])
    assert (part.parent / (PART + ".rejected")).read_bytes() == b"null\n" + keyless


def test_truncated_settings_file_gives_a_way_out_that_keeps_the_parts(tmp_path):
    job = pivot_job(tmp_path, questions=4, size=12)
    box = Sandbox(tmp_path, job)
    full, expected = reference(job, box)
    d = box.with_state(full.splitlines(keepends=True)[0] + full.splitlines(keepends=True)[1][:7])
    settings = d / "work" / "settings.json"
    settings.write_bytes(settings.read_bytes()[:20])  # cut short
    with pytest.raises(SettingsFileError, match=r"settings.json: not valid JSON .*rerun it with --repair"):
        worker.run_pivot(job.data, d / "work", 12)
    result = worker.run_pivot(job.data, d / "work", 12, repair=True)
    assert (result.generated, result.resumed) == (3, 1)
    assert (d / "work" / "settings.json.rejected").stat().st_size == 20
    check_complete(job, job.target(d).read_bytes(), expected, after=full.splitlines(keepends=True)[0])
    settings.write_text("null")
    with pytest.raises(SettingsFileError, match="holds NoneType, not the settings object"):
        check_settings(d / "work", worker.pivot_settings())


def test_pivot_read_done_ignores_a_tear_inside_a_character(tmp_path):
    job = pivot_job(tmp_path, questions=3, size=12)
    box = Sandbox(tmp_path, job)
    full, _ = reference(job, box)
    d = box.with_state(cut_inside_a_character(full, 2))
    done, torn = read_done(d / "work")  # was: UnicodeDecodeError
    assert len(done) == 2 and torn == 1


def test_the_repair_command_line_and_check(tmp_path, capsys):
    path = tmp_path / "run.jsonl"
    path.write_bytes(b'{"key": "a"}\n[1]\n{"key": "a"}\n{"key": "b"}\n{"key": "c", "t": "\xe7\xad')
    assert jsonl_main(["check", str(path), "--key", "key"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == 2 and report["torn_tail_bytes"] == 21
    assert [b["line"] for b in report["bad_lines"]] == [2, 3]
    assert "a second record with key 'a' (first on line 1)" in report["bad_lines"][1]["reason"]
    capsys.readouterr()
    assert jsonl_main(["repair", str(path), "--key", "key"]) == 0
    assert json.loads(capsys.readouterr().out) == {"file": str(path), "records": 2, "moved_aside": 2,
                                                   "recovery": "cut 21 bytes"}
    assert path.read_bytes() == b'{"key": "a"}\n{"key": "b"}\n'
    assert (tmp_path / "run.jsonl.rejected").read_bytes() == b'[1]\n{"key": "a"}\n'


def test_repair_follows_a_symlink_and_keeps_the_link(tmp_path, capsys):
    """Issue 22 item 5: the link stays a link to the same file; its target is repaired in place of the link
    being replaced by a regular file (which left the target's bad line)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "runs").mkdir()
    target, link = tmp_path / "data" / "run.jsonl", tmp_path / "runs" / "run.jsonl"
    target.write_bytes(b'{"key": "a"}\nnull\n{"key": "b"}\n')
    link.symlink_to(target)
    assert jsonl_main(["repair", str(link), "--key", "key"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"file": str(link), "records": 2, "moved_aside": 1, "recovery": "none",
                                        "link_target": str(target)}
    assert "a link to" in captured.err and "the link is kept" in captured.err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b'{"key": "a"}\n{"key": "b"}\n'
    assert (tmp_path / "data" / "run.jsonl.rejected").read_bytes() == b"null\n"
    assert not (tmp_path / "runs" / "run.jsonl.rejected").exists()
    # the jobs' --repair takes the same path (AppendOnlyJsonl(repair=True)), and appends go to the target
    with target.open("ab") as handle:
        handle.write(b"[2]\n")
    with AppendOnlyJsonl(link, field_key(["key"]), repair=True) as writer:
        writer.append([{"key": "c"}])
    assert link.is_symlink() and target.read_bytes() == b'{"key": "a"}\n{"key": "b"}\n{"key": "c"}\n'
    assert (tmp_path / "data" / "run.jsonl.rejected").read_bytes() == b"null\n[2]\n"


def test_the_repair_command_names_a_directory_and_a_dangling_link(tmp_path, capsys):
    assert jsonl_main(["repair", str(tmp_path)]) == 2
    assert f"error: FILE {tmp_path} is a directory, not a JSONL file" in capsys.readouterr().err
    link = tmp_path / "gone.jsonl"
    link.symlink_to(tmp_path / "missing.jsonl")
    assert jsonl_main(["repair", str(link)]) == 2
    assert "is a link to a file that does not exist" in capsys.readouterr().err
    assert link.is_symlink() and not (tmp_path / "missing.jsonl").exists()


# ---------------------------------------------------------------------------------------------------
# item 3: appends never read the file
# ---------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
@pytest.mark.parametrize("name", sorted(JOBS))
def test_appends_read_nothing_whatever_the_file_size(name, tmp_path, monkeypatch):
    """Between two batches (the job's append), the process reads < 64 KiB of a 16 MB output (was: all of it)."""
    job = JOBS[name](tmp_path, questions=48, size=1000)
    box = Sandbox(tmp_path, job)
    full, _ = reference(job, box)
    lines = full.splitlines(keepends=True)
    d = box.with_state(b"".join(lines[:8]))  # 8 records written; the job has 40 (pivot) or 88 (generate) to go
    target = job.target(d)
    copies = 16 * 2**20 // len(full) + 1
    filler = [dict(json.loads(line), **({"sample_index": 100 + i} if name == "generate" else {"key": f"{i:040x}"}))
              for i, line in enumerate(lines * copies)]  # records of other keys: the file grows to 16 MB
    with AppendOnlyJsonl(target, job.key_of) as writer:
        writer.append(filler)
    reads: list[int] = []
    if name == "generate":
        inner = worker.generate_sampler(1000)

        def sampler(todo, config, run):
            for batch in inner(todo, config, run):
                reads.append(_rchar())
                yield batch

        from verl_multiling.evaluation.generate import GenerationConfig, generate

        generate(job.data, "no-model", target, GenerationConfig(k=2, batch_size=2), sampler=sampler)
    else:
        from verl_multiling.jobs.pivot_generation import run_job

        class Reading(worker.PivotTextGenerator):
            def generate(self, prompts, sampling):
                reads.append(_rchar())
                return super().generate(prompts, sampling)

        run_job(job.data, d / "o.parquet", d / "work", worker.pivot_settings(), lambda: Reading(1000),
                batch_size=2, gold_check="keep", merge_output=False, progress=False)
    assert len(reads) == (44 if name == "generate" else 20)
    per_append = [b - a for a, b in zip(reads, reads[1:])]
    assert max(per_append) < 64 * 1024, per_append


def test_writer_refuses_duplicates_a_second_writer_and_a_file_changed_under_it(tmp_path):
    path = tmp_path / "run.jsonl"
    with AppendOnlyJsonl(path, field_key(["key"])) as writer:
        writer.append([{"key": "a", "text": "lone \ud800 surrogate"}])
        with pytest.raises(ValueError, match="key 'a' is already written \\(line 1\\)"):
            writer.append([{"key": "b"}, {"key": "a"}])
        with pytest.raises(ValueError, match="key 'c' is already written \\(this batch\\)"):
            writer.append([{"key": "c"}, {"key": "c"}])
        with pytest.raises(FileInUseError, match="being written by another process"):
            AppendOnlyJsonl(path, field_key(["key"]))
        with open(path, "ab") as other:
            other.write(b'{"key": "x"}\n')
        with pytest.raises(RuntimeError, match="changed under its writer"):
            writer.append([{"key": "d"}])
    assert [json.loads(line)["key"] for line in path.read_text(encoding="utf-8").splitlines()] == ["a", "x"]
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["text"] == "lone \ud800 surrogate"
    assert scan(path, field_key(["key"])).records == 2
