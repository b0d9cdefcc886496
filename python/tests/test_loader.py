"""clipkit.ClipLoader against the Swift loader (clipkit bench loader --dump)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import clipkit
from conftest import FIXTURES, clipkit_cli, run_tool

VIDEOS = ["h264_bframes.mp4", "vp9.webm", "hevc.mkv", "mpeg4.avi"]


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("path,label\n" + "".join(f"{FIXTURES / v},{i}\n" for i, v in enumerate(VIDEOS)))
    return path


def swift_batches(manifest, tmp_path, *options):
    prefix = tmp_path / "swift"
    run_tool([clipkit_cli(), "bench", "loader", "--manifest", str(manifest), "--dump", str(prefix), "--json", *options],
             outputs=[f"{prefix}.f32", f"{prefix}.json"])
    return np.fromfile(f"{prefix}.f32", dtype=np.float32), json.loads(open(f"{prefix}.json").read())


def test_train_batches_equal_the_swift_loader(manifest, tmp_path):
    floats, batches = swift_batches(manifest, tmp_path, "--mode", "train", "--clip-len", "4", "--interval", "2", "--crop", "64",
                                    "--short-side", "96-128", "--batch", "2", "--workers", "2", "--clips", "4", "--seed", "7")
    loader = clipkit.ClipLoader(manifest, frames=4, interval=2, crop=64, short_side=(96, 128), batch=2, workers=2, seed=7)
    ours = list(loader.batches(0, with_videos=True))
    assert len(ours) == len(batches) == 2
    got = np.concatenate([np.asarray(x).reshape(-1) for x, _, _ in ours])
    assert got.shape == floats.shape and np.array_equal(got, floats)
    assert [list(np.asarray(y)) for _, y, _ in ours] == [b["labels"] for b in batches]
    assert [list(v) for _, _, v in ours] == [b["videos"] for b in batches]
    assert tuple(np.asarray(ours[0][0]).shape) == (2, 3, 4, 64, 64)


def test_test_views_equal_the_swift_loader(manifest, tmp_path):
    floats, batches = swift_batches(manifest, tmp_path, "--mode", "test", "--clip-len", "4", "--interval", "2", "--num-clips", "2",
                                    "--batch", "2", "--workers", "2", "--clips", "4")
    # (bench loader keeps the loader's default order, shuffled, in test mode too)
    loader = clipkit.ClipLoader(manifest, mode="test", frames=4, interval=2, crop=256, test_short_side=256, num_clips=2, crops=3,
                                batch=2, workers=2, shuffle=True)
    assert loader.sample_shape == (6, 3, 4, 256, 256)
    got = np.concatenate([np.asarray(x).reshape(-1) for x, _ in loader])
    assert np.array_equal(got, floats)


def test_shards_of_two_ranks_cover_the_epoch_once(manifest):
    seen = []
    for rank in range(2):
        loader = clipkit.ClipLoader(manifest, frames=2, interval=1, crop=32, short_side=(32, 40), batch=1, seed=3, rank=rank, world_size=2)
        assert len(loader) == 2
        seen += [int(v[0]) for _, _, v in loader.batches(5, with_videos=True)]
    assert sorted(seen) == list(range(len(VIDEOS)))


def test_epochs_are_reproducible_and_differ():
    entries = [(FIXTURES / v, i) for i, v in enumerate(VIDEOS)]
    loader = clipkit.ClipLoader(entries, frames=2, interval=1, crop=32, short_side=(32, 48), batch=4, seed=1)
    first = [np.asarray(x).copy() for x, _ in loader.batches(0)]
    again = [np.asarray(x).copy() for x, _ in loader.batches(0)]
    other = [np.asarray(x).copy() for x, _ in loader.batches(1)]
    assert np.array_equal(first[0], again[0]) and not np.array_equal(first[0], other[0])


def test_bad_options_and_broken_videos(tmp_path):
    with pytest.raises(clipkit.ClipKitError, match="missing.csv") as missing:
        clipkit.ClipLoader(tmp_path / "missing.csv")
    assert not isinstance(missing.value, ValueError), "a file's failure is not a bad argument"
    # Every option ClipKit refuses is a ValueError naming it, as ClipKit's C ABI reports its kind.
    for options, name in [(dict(frames=0), "frames must be ≥ 1, not 0"), (dict(batch=0), "batch"),
                          (dict(workers=0), "workers"), (dict(queue_depth=0), "queue_depth"),
                          (dict(mode="val"), "mode must be train or test, not 'val'"), (dict(sampling="x"), "sampling"),
                          (dict(variant="bogus"), "variant"), (dict(crops=2), "crops"),
                          (dict(mode="test", num_clips=0), "num_clips"), (dict(frames="8"), "'frames' must be an integer"),
                          (dict(crop=256, short_side=(128, 160)), "short_side"), (dict(rank=2, world_size=2), "rank"),
                          (dict(flip=2.0), "flip")]:
        with pytest.raises(clipkit.ClipKitError, match=name) as refused:
            clipkit.ClipLoader([(FIXTURES / "vp9.webm", 0)], **options)
        assert isinstance(refused.value, ValueError), f"{options}: {refused.value!r}"
    import copy
    import pickle
    one = clipkit.ClipLoader([(FIXTURES / "vp9.webm", 0)], frames=2, interval=1, crop=32, short_side=(32, 32), batch=1)
    for duplicate in [pickle.dumps, copy.copy]:
        with pytest.raises(TypeError, match="state_dict"):
            duplicate(one)
    assert len(list(one)) == 1, "the loader still works"
    # Test mode: a broken video is reported by name and its views are zeros.
    loader = clipkit.ClipLoader([(FIXTURES / "truncated.mp4", 0), (FIXTURES / "vp9.webm", 1)], mode="test", frames=2, interval=1,
                                crop=32, test_short_side=32, num_clips=1, crops=1, batch=2)
    (x, _), = list(loader)
    assert any("truncated.mp4" in f["path"] for f in loader.failures)
    assert not np.asarray(x)[0].any() and np.asarray(x)[1].any()
    # The epoch's failures, not the last batch's: the broken video is in the first of two batches.
    two = clipkit.ClipLoader([(FIXTURES / "truncated.mp4", 0), (FIXTURES / "vp9.webm", 1)], mode="test", frames=2,
                             interval=1, crop=32, test_short_side=32, num_clips=1, crops=1, batch=1)
    assert len(list(two)) == 2
    assert [f["path"] for f in two.failures] == [str(FIXTURES / "truncated.mp4")], two.failures
    # Training: every video broken is an error naming one.
    broken = clipkit.ClipLoader([(FIXTURES / "truncated.mp4", 0), (FIXTURES / "text.mp4", 1)], frames=2, interval=1, crop=32,
                                short_side=(32, 32), batch=2)
    with pytest.raises(clipkit.ClipKitError, match="no video loads"):
        list(broken)


def test_ctrl_c_stops_a_waiting_iteration_quickly(tmp_path):
    # Slow batches (10×3 views at 256 of 40 videos, one worker): the main
    # thread waits in ClipKit when SIGINT arrives.
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(f"""
        import signal, sys, clipkit
        # As in a terminal, even when the tests run in the background (where SIGINT is ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        entries = [({str(FIXTURES / "h264_bframes.mp4")!r}, 0)] * 40
        loader = clipkit.ClipLoader(entries, mode="test", frames=8, interval=4, crop=256, test_short_side=256, batch=8, workers=1)
        print("started", flush=True)
        for batch in loader:
            pass
        print("finished", flush=True)
    """))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert process.stdout.readline().strip() == "started"
    time.sleep(0.5)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert process.returncode != 0 and "KeyboardInterrupt" in err and "finished" not in out, err
    # The workers stop between videos (one is 30 views here): well under a second on an idle
    # machine, about 2 s on a loaded one; the whole run takes far longer.
    assert elapsed < 5.0, f"took {elapsed:.2f} s to stop"


def test_kept_batches_stay_intact_and_buffers_are_reused():
    # Batches are ClipKit's own buffers, handed over without a copy: keeping
    # them all (more than the queue depth) must not let the loader overwrite
    # any, and outliving the loader must be safe.
    entries = [(FIXTURES / v, i) for i, v in enumerate(VIDEOS)] * 2
    options = dict(frames=2, interval=1, crop=32, short_side=(32, 48), batch=1, seed=9, queue_depth=2)
    kept = [np.asarray(x) for x, _ in clipkit.ClipLoader(entries, **options).batches(0)]
    copies = [np.asarray(x).copy() for x, _ in clipkit.ClipLoader(entries, **options).batches(0)]
    assert len(kept) == len(copies) == 8
    assert all(np.array_equal(a, b) for a, b in zip(kept, copies))
    loader = clipkit.ClipLoader(entries, **options)
    held = next(iter(loader))[0]
    loader.close()
    assert np.array_equal(np.asarray(held), copies[0])


def test_a_list_entry_with_a_stream_index_equals_that_stream_alone(tmp_path):
    source = FIXTURES / "two_video_streams.mp4"
    alone = tmp_path / "stream0.mp4"
    run_tool(["ffmpeg", "-v", "error", "-i", str(source), "-map", "0:0", "-c", "copy", str(alone)], outputs=[alone])
    options = dict(frames=4, interval=2, crop=64, short_side=(96, 128), batch=2, workers=1, seed=3, shuffle=False)
    chosen = clipkit.ClipLoader([(source, 0, 0), (source, 1, 0)], **options)
    separate = clipkit.ClipLoader([(alone, 0), (alone, 1)], **options)
    default = clipkit.ClipLoader([(source, 0), (source, 1)], **options)
    a, b, c = (np.asarray(next(iter(loader.batches(0)))[0]) for loader in (chosen, separate, default))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)   # the default is stream 1


RESUME_SCRIPT = textwrap.dedent("""
    import hashlib, json, pickle, sys
    import numpy as np
    import clipkit
    manifest, state_file, out_file, stop_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    loader = clipkit.ClipLoader(manifest, frames=4, interval=2, crop=48, short_side=(64, 80), batch=1, workers=2, seed=5)
    if stop_after < 0:
        loader.load_state_dict(pickle.load(open(state_file, "rb")))
    else:
        loader.set_epoch(3)
    digests = []
    for x, y in loader:
        digests.append(hashlib.sha256(np.asarray(x).tobytes() + np.asarray(y).tobytes()).hexdigest())
        if len(digests) == stop_after:
            break  # as a job would stop after training on k batches
    if stop_after >= 0:
        pickle.dump(loader.state_dict(), open(state_file, "wb"))
    json.dump(digests, open(out_file, "w"))
""")


def test_a_loader_restored_in_a_new_process_gives_the_remaining_batches(manifest, tmp_path):
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    state, first, rest, whole = (tmp_path / n for n in ("state.pkl", "first.json", "rest.json", "whole.json"))

    def run(out, stop_after):
        subprocess.run([sys.executable, str(script), str(manifest), str(state), str(out), str(stop_after)], check=True)
        return json.loads(out.read_text())

    straight = run(whole, 99)  # the whole epoch (4 batches), uninterrupted
    head = run(first, 2)  # stopped after 2 batches, state saved
    tail = run(rest, -1)  # a new process, restored
    assert len(straight) == 4 and head == straight[:2]
    assert tail == straight[2:], "the restored loader gives exactly the batches not yet handed out"


def test_a_state_from_other_options_is_refused(manifest):
    loader = clipkit.ClipLoader(manifest, frames=4, interval=2, crop=48, short_side=(64, 80), batch=1)
    state = loader.state_dict()
    assert state["epoch"] == 0 and state["batches"] == 0
    other = clipkit.ClipLoader(manifest, frames=4, interval=2, crop=48, short_side=(64, 80), batch=2)
    with pytest.raises(ValueError, match="batch"):
        other.load_state_dict(state)
    state["batches"] = 99
    with pytest.raises(ValueError, match="outside"):
        loader.load_state_dict(state)
