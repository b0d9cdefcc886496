"""clipkit.VideoDecoder against the ffmpeg CLI and the Swift decoder (clipkit frames)."""
import os

import numpy as np
import pytest

import clipkit
from conftest import FIXTURES, cli_frames, ffmpeg_frames, run_tool

VIDEOS = ["h264_bframes.mp4", "vp9.webm", "hevc.mkv", "mpeg4.avi", "mjpeg.mov", "vfr.mp4", "rotate90.mp4", "h264_444_odd.mp4"]


@pytest.mark.parametrize("name", VIDEOS)
def test_every_frame_equals_the_ffmpeg_cli(name):
    decoder = clipkit.VideoDecoder(FIXTURES / name, dimension_order="NHWC")
    truth = ffmpeg_frames(FIXTURES / name, decoder.width, decoder.height)
    assert len(decoder) == len(truth)
    frames = np.asarray(decoder.get_batch(list(range(len(decoder)))))
    assert frames.shape == truth.shape and frames.dtype == np.uint8
    assert np.array_equal(frames, truth)
    # Scattered, descending, with a repeat: the order asked.
    order = [len(truth) - 1, len(truth) // 2, 0, len(truth) // 2]
    assert np.array_equal(np.asarray(decoder.get_frames_at(order)), truth[order])


@pytest.mark.parametrize("name", ["h264_bframes.mp4", "vp9.webm", "rotate90.mp4"])
def test_resized_frames_equal_the_swift_decoder(name):
    indices = [7, 3, 3, 0]
    decoder = clipkit.VideoDecoder(FIXTURES / name, dimension_order="NHWC", short_side=64)
    ours = np.asarray(decoder.get_batch(indices))
    assert np.array_equal(ours, cli_frames(FIXTURES / name, indices, decoder.width, decoder.height, "--short-side", "64"))
    sized = clipkit.VideoDecoder(FIXTURES / name, dimension_order="NHWC", size=(48, 40))
    assert (sized.width, sized.height) == (48, 40)
    assert np.array_equal(np.asarray(sized.get_batch(indices)), cli_frames(FIXTURES / name, indices, 48, 40, "--size", "48x40"))


def test_dimension_order_metadata_and_indexing():
    nhwc = clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4", dimension_order="NHWC")
    nchw = clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4")
    meta = nchw.metadata
    assert meta["frames"] == len(nchw) and meta["width"] == nchw.width and meta["codec"] == "h264" and meta["keyframes"][0] == 0
    a, b = np.asarray(nhwc.get_batch([4])), np.asarray(nchw.get_batch([4]))
    assert b.shape == (1, 3, nchw.height, nchw.width)
    assert np.array_equal(a.transpose(0, 3, 1, 2), b)
    assert np.array_equal(np.asarray(nchw[-1]), np.asarray(nchw.get_batch([len(nchw) - 1]))[0])
    assert np.asarray(nchw[2:5]).shape[0] == 3


@pytest.mark.parametrize("name", ["truncated.mp4", "empty.mp4", "text.mp4", "audio_only.mp4", "unsupported_codec.avi", "no_such_file.mp4"])
def test_broken_files_raise_with_the_file_name(name):
    with pytest.raises(clipkit.ClipKitError) as caught:
        clipkit.VideoDecoder(FIXTURES / name)
    assert name in str(caught.value)


def test_damage_and_bad_requests_raise_with_the_file_name():
    damaged = clipkit.VideoDecoder(FIXTURES / "garbage_middle.mp4")
    with pytest.raises(clipkit.ClipKitError, match="garbage_middle.mp4"):
        damaged.get_batch(list(range(len(damaged))))
    good = clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4")
    with pytest.raises(IndexError, match="h264_bframes.mp4.*outside the video"):
        good.get_batch([len(good)])
    with pytest.raises(clipkit.ClipKitError, match="h264_bframes.mp4.*outside the video"):
        good[-len(good) - 1]
    with pytest.raises(ValueError):
        clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4", dimension_order="CHW")
    good.close()
    with pytest.raises(ValueError, match="closed"):
        good.get_batch([0])


def test_crop_is_a_box_of_the_native_frame_then_scaled():
    full = clipkit.VideoDecoder(FIXTURES / "vp9.webm", dimension_order="NHWC")
    box = clipkit.VideoDecoder(FIXTURES / "vp9.webm", dimension_order="NHWC", crop=(8, 4, 32, 24))
    assert (box.width, box.height) == (32, 24)
    assert np.array_equal(np.asarray(full.get_batch([3]))[:, 4:28, 8:40], np.asarray(box.get_batch([3])))
    scaled = clipkit.VideoDecoder(FIXTURES / "vp9.webm", dimension_order="NHWC", crop=(8, 4, 32, 24), short_side=48)
    assert (scaled.width, scaled.height) == (64, 48)
    with pytest.raises(clipkit.ClipKitError, match="vp9.webm.*outside") as outside:
        clipkit.VideoDecoder(FIXTURES / "vp9.webm", crop=(0, 0, 10_000, 10))
    assert isinstance(outside.value, ValueError), "a box outside the frame is a bad argument"


@pytest.mark.parametrize("stream_index", [None, 0, 1])
def test_stream_index_picks_a_video_stream(stream_index):
    path = FIXTURES / "two_video_streams.mp4"
    decoder = clipkit.VideoDecoder(path, dimension_order="NHWC", stream_index=stream_index)
    stream = 1 if stream_index is None else stream_index   # the ffmpeg CLI's own choice is 1, the larger
    assert decoder.metadata["stream"] == stream
    truth = ffmpeg_frames(path, decoder.width, decoder.height, stream=stream)
    order = [24, 5, 0, 13]
    assert np.array_equal(np.asarray(decoder.get_frames_at(order)), truth[order])


def test_a_stream_that_is_not_video_raises_with_the_file_and_its_streams():
    with pytest.raises(clipkit.ClipKitError, match=r"two_video_streams.mp4.*stream 2 is not a video stream.*2: audio aac") as audio:
        clipkit.VideoDecoder(FIXTURES / "two_video_streams.mp4", stream_index=2)
    assert isinstance(audio.value, ValueError), "as torchcodec's"
    with pytest.raises(clipkit.ClipKitError) as broken:
        clipkit.VideoDecoder(FIXTURES / "truncated.mp4")
    assert not isinstance(broken.value, (ValueError, IndexError)), "a broken file is not a bad argument"
    with pytest.raises(ValueError):
        clipkit.VideoDecoder(FIXTURES / "two_video_streams.mp4", stream_index=-1)


def _colour_cases():
    import json
    cases = json.loads((FIXTURES / "colour" / "cases.json").read_text())
    return [c for c in cases if c["path"] == "python"]


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def test_the_colour_plan_has_python_cases():
    assert len(_colour_cases()) >= 4


@pytest.mark.parametrize("case", _colour_cases(), ids=lambda c: f"{c['file']}-{c['output']}-{c['request']}")
def test_colour_cases_equal_the_ffmpeg_cli(case):
    """The pairwise colour plan's `python` cases (tools/make-colour-fixtures.py)."""
    path = FIXTURES / "colour" / case["file"]
    options = {"short_side": {"short_side": 32}, "size": {"size": (40, 30)}, "crop": {"crop": (6, 4, 40, 30)}}.get(case["output"], {})
    decoder = clipkit.VideoDecoder(path, dimension_order="NHWC", **options)
    w, h = decoder.width, decoder.height
    filters = {"short_side": f"scale={w}:{h}:flags=bilinear,", "size": f"scale={w}:{h}:flags=bilinear,",
               "crop": "crop=40:30:6:4,"}.get(case["output"], "")
    truth = ffmpeg_frames(path, w, h, filters=filters)
    calls = {"forward": [list(range(8))], "descending": [list(range(7, -1, -1))], "random": [[5, 2, 7, 2, 0, 3]],
             "reused": [[3, 1], [6], [0, 7, 2], [4]]}[case["request"]]
    bound = 40 if case["output"] in ("short_side", "size") else 50
    for call in calls:
        frames = np.asarray(decoder.get_frames_at(call))
        for frame, index in zip(frames, call):
            assert _psnr(frame, truth[index]) >= bound, f"frame {index} of {call}"


def _probe_times(path):
    """ffprobe's best_effort_timestamp_time of every frame (None where it has none)."""
    out = run_tool(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                    "frame=best_effort_timestamp_time", "-of", "csv=p=0", str(path)]).decode()
    return [None if v.strip(", ") == "N/A" else float(v.strip(", ")) for v in out.splitlines() if v.strip()]


def _corpus_names():
    import json
    return sorted(json.loads((FIXTURES / "corpus" / "corpus.json").read_text()).keys())


@pytest.mark.parametrize("name", ["vfr.mp4", "h264_bframes.mp4"] + ["corpus/" + n for n in _corpus_names()])
def test_torchcodec_methods_give_the_cli_frames_and_ffprobe_times(name):
    path = FIXTURES / name
    decoder = clipkit.VideoDecoder(path, dimension_order="NHWC")
    times = _probe_times(path)
    assert len(times) == len(decoder)
    n = len(decoder)
    batch = decoder.get_frames_in_range(0, n, 3)
    picks = list(range(0, n, 3))
    assert np.asarray(batch.pts_seconds).shape == (len(picks),)
    for i, t in zip(picks, np.asarray(batch.pts_seconds)):
        if times[i] is not None:
            assert abs(t - times[i]) < 1e-6, f"{name}: frame {i}"
    durations = np.asarray(batch.duration_seconds)
    assert (durations > 0).all()
    last = decoder.get_frame_at(-1)
    m = decoder.metadata
    assert abs(last.pts_seconds + last.duration_seconds - m.end_stream_seconds) < 1e-9
    assert abs(m.duration_seconds - (m.end_stream_seconds - m.begin_stream_seconds)) < 1e-9, "the frames' span"
    truth = ffmpeg_frames(path, decoder.width, decoder.height)
    assert np.array_equal(np.asarray(batch.data), truth[picks]), name
    assert np.array_equal(np.asarray(last.data), truth[-1]), name


def test_frames_played_at_times_are_the_ones_on_screen():
    path = FIXTURES / "vfr.mp4"
    decoder = clipkit.VideoDecoder(path, dimension_order="NHWC")
    pts = np.asarray(decoder.get_frames_in_range(0, len(decoder)).pts_seconds)
    truth = ffmpeg_frames(path, decoder.width, decoder.height)
    # The middle of each frame's interval, its start, and just before the next frame's.
    starts, ends = pts, np.append(pts[1:], decoder.metadata.end_stream_seconds)
    for seconds, expected in [((starts + ends) / 2, range(len(pts))), (starts, range(len(pts))),
                              (ends - 1e-4, range(len(pts)))]:
        played = decoder.get_frames_played_at(list(seconds))
        assert np.array_equal(np.asarray(played.data), truth[list(expected)])
        assert np.allclose(np.asarray(played.pts_seconds), pts[list(expected)])
    one = decoder.get_frame_played_at(float(ends[3] - 1e-4))
    assert np.array_equal(np.asarray(one.data), truth[3]) and one.pts_seconds == pts[3]
    everything = decoder.get_all_frames()
    assert np.array_equal(np.asarray(everything.data), truth) and np.array_equal(everything.pts_seconds, pts)
    window = decoder.get_frames_played_in_range(float(starts[2] + 1e-4), float(starts[5]))
    assert np.allclose(np.asarray(window.pts_seconds), pts[2:5]), "from the frame on screen at the start, before the stop"
    assert len(decoder.get_frames_played_in_range(0.5, 0.5).pts_seconds) == 0
    for outside in [decoder.metadata.end_stream_seconds, decoder.metadata.begin_stream_seconds - 0.1]:
        with pytest.raises(IndexError, match="vfr.mp4"):  # as torchcodec; a ClipKitError too
            decoder.get_frames_played_at([outside])
        with pytest.raises(IndexError, match="vfr.mp4"):
            decoder.get_frame_played_at(outside)
    with pytest.raises(IndexError, match="vfr.mp4"):
        decoder.get_frames_in_range(0, len(decoder) + 1)


@pytest.mark.parametrize("name", ["h264_bframes.mp4", "vfr.mp4", "corpus/mpeg4_bframes.avi", "corpus/h264_wrap.ts",
                                  "corpus/start_10s.mkv", "two_video_streams.mp4"])
def test_a_videos_bytes_decode_as_its_file(name):
    import io
    import pickle
    path = FIXTURES / name
    data = path.read_bytes()
    from_file = clipkit.VideoDecoder(path, dimension_order="NHWC", short_side=48)
    truth = np.asarray(from_file.get_all_frames().data)
    with open(path, "rb") as handle:
        written = io.BytesIO()
        written.write(data)  # left at its end: read from its start all the same
        sources = [data, bytearray(data), memoryview(data), io.BytesIO(data), written, handle]
        for source in sources:
            decoder = clipkit.VideoDecoder(source, dimension_order="NHWC", short_side=48)
            picks = [len(decoder) - 1, 0, len(decoder) // 2, 1]
            assert np.array_equal(np.asarray(decoder.get_frames_at(picks)), truth[picks]), type(source).__name__
            batch = decoder.get_all_frames()
            assert np.array_equal(batch.pts_seconds, from_file.get_all_frames().pts_seconds)
            for key in ["frames", "fps", "duration", "keyframes", "stream", "width", "height"]:
                assert decoder.metadata[key] == from_file.metadata[key], key
    assert decoder.path == str(path), "a file object keeps its name"
    again = pickle.loads(pickle.dumps(clipkit.VideoDecoder(data, dimension_order="NHWC", short_side=48)))
    assert np.array_equal(np.asarray(again[-1]), truth[-1]), "a pickle carries the bytes"


@pytest.mark.parametrize("name", ["h264_bframes.mp4", "hevc.mkv", "mpeg4.avi", "vp9.webm"])
def test_torchcodecs_options_run_unchanged(name):
    path = FIXTURES / name
    plain = clipkit.VideoDecoder(path, dimension_order="NHWC")
    truth = ffmpeg_frames(path, plain.width, plain.height)
    order = [len(plain) - 1, 0, len(plain) // 2, 3]
    for threads in (2, 0):
        decoder = clipkit.VideoDecoder(path, dimension_order="NHWC", num_ffmpeg_threads=threads, seek_mode="approximate",
                                       device="cpu")
        assert np.array_equal(np.asarray(decoder.get_frames_at(order)), truth[order]), f"{name}, {threads} threads"
    for bad in [dict(num_ffmpeg_threads=-1), dict(num_ffmpeg_threads=1.5), dict(seek_mode="fast"), dict(device="cuda")]:
        with pytest.raises(ValueError):
            clipkit.VideoDecoder(path, **bad)


def test_bytes_that_are_not_a_video_are_named():
    with pytest.raises(clipkit.ClipKitError, match="<bytes>.*text file") as text:
        clipkit.VideoDecoder(b"just some words, not a video\n")
    assert not isinstance(text.value, ValueError)
    with pytest.raises(clipkit.ClipKitError, match="<bytes>.*empty"):
        clipkit.VideoDecoder(b"")
    cut = (FIXTURES / "h264_bframes.mp4").read_bytes()
    with pytest.raises(clipkit.ClipKitError, match="<bytes>"):
        clipkit.VideoDecoder(cut[: len(cut) // 3])
    with open(FIXTURES / "h264_bframes.mp4", encoding="latin-1") as text_mode:
        with pytest.raises(TypeError, match="binary"):
            clipkit.VideoDecoder(text_mode)


def test_metadata_has_torchcodecs_names_too():
    decoder = clipkit.VideoDecoder(FIXTURES / "corpus" / "start_10s.mkv")
    m = decoder.metadata
    assert m.num_frames == m["frames"] == len(decoder)
    assert m.average_fps == m["fps"] and m.duration_seconds == m["duration"] and m.codec == m["codec"]
    assert (m.width, m.height, m.stream_index) == (m["width"], m["height"], m["stream"])
    assert m.rotation is None and m["rotation"] == 0, "no display matrix"
    assert 9.9 < m.begin_stream_seconds < m.end_stream_seconds, "the stream starts at 10 s"
    assert abs(m.duration_seconds - 2.0) < 1e-9, "50 frames at 25 fps, whatever the header's 12 s counts in"
    first = decoder.get_frame_at(0)
    assert first.pts_seconds == m.begin_stream_seconds and np.asarray(first.data).shape[0] == 3


def _probe_rotation(path):
    """ffprobe's display matrix rotation of the first video stream, or None."""
    out = run_tool(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                    "stream_side_data=rotation", "-of", "csv=p=0", str(path)]).decode().strip(", \n")
    return float(out) if out else None


@pytest.mark.parametrize("name, applied", [("rotate90.mp4", 270), ("rotate180.mp4", 180)])
def test_rotation_reads_as_torchcodec_and_ffprobe_say(name, applied):
    path = FIXTURES / name
    probed = _probe_rotation(path)
    for rotate in (True, False):
        m = clipkit.VideoDecoder(path, rotate=rotate).metadata
        assert m.rotation == probed and isinstance(m.rotation, float), f"{name}: counterclockwise, applied or not"
        assert m["rotation"] == (applied if rotate else 0), f"{name}: the clockwise turn applied"
    coded = clipkit.VideoDecoder(path, rotate=False).metadata
    turned = clipkit.VideoDecoder(path).metadata
    swapped = applied in (90, 270)
    assert (turned.width, turned.height) == ((coded.height, coded.width) if swapped else (coded.width, coded.height))


@pytest.mark.parametrize("fmt", ["ustar", "pax"])
def test_a_member_of_a_tar_shard_decodes_as_its_file(tmp_path, fmt):
    import tarfile
    shard = tmp_path / "shard.tar"
    names = ["h264_bframes.mp4", "vp9.webm", "mpeg4.avi"]
    with tarfile.open(shard, "w", format=tarfile.USTAR_FORMAT if fmt == "ustar" else tarfile.PAX_FORMAT) as tar:
        for name in names:
            tar.add(FIXTURES / name, arcname=f"videos/{name}")
    for name in names:
        member = clipkit.VideoDecoder(f"{shard}#videos/{name}", dimension_order="NHWC")
        plain = clipkit.VideoDecoder(FIXTURES / name, dimension_order="NHWC")
        assert len(member) == len(plain)
        every = list(range(len(plain)))
        assert np.array_equal(np.asarray(member.get_batch(every)), np.asarray(plain.get_batch(every)))
    with pytest.raises(clipkit.ClipKitError, match="no member 'videos/missing.mp4'"):
        clipkit.VideoDecoder(f"{shard}#videos/missing.mp4")


def test_a_copy_a_pickle_and_threads_share_nothing_unsafe():
    """A copy or a pickle opens the file again (a spawned DataLoader worker gets its own decoder);
    threads calling one decoder take turns; neither crashes nor changes a frame."""
    import copy
    import pickle
    import threading
    decoder = clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4", dimension_order="NHWC", short_side=32)
    truth = np.asarray(decoder[:])
    for twin in [pickle.loads(pickle.dumps(decoder)), copy.copy(decoder), copy.deepcopy(decoder)]:
        assert twin.path == decoder.path and twin.dimension_order == "NHWC" and twin.width == decoder.width
        assert np.array_equal(np.asarray(twin[:]), truth)
        twin.close()
        del twin
    assert np.array_equal(np.asarray(decoder[3]), truth[3]), "the original still decodes"
    results, errors = [], []

    def work(seed):
        try:
            order = np.random.default_rng(seed).integers(0, len(decoder), 24)
            results.append(np.array_equal(np.asarray(decoder.get_frames_at(order)), truth[order]))
        except Exception as error:  # pragma: no cover - the failure is reported below
            errors.append(error)
    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [True] * 4


def test_indexing_and_iteration_follow_python_sequences():
    decoder = clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4", dimension_order="NHWC", short_side=32)
    frames = list(decoder)
    assert len(frames) == len(decoder), "iteration stops at the end"
    everything = np.asarray(decoder[:])
    assert np.array_equal(np.asarray(decoder.get_frames_at([-1, 0, -len(decoder)])), everything[[-1, 0, 0]])
    assert np.array_equal(np.asarray(decoder[np.int64(2)]), everything[2])
    assert np.array_equal(np.asarray(decoder[[1, 2]]), everything[[1, 2]])
    assert np.array_equal(np.asarray(decoder[np.array([3, -1])]), everything[[3, -1]])
    for bad in [len(decoder), -len(decoder) - 1]:
        with pytest.raises(IndexError, match="h264_bframes.mp4"):
            decoder[bad]
    with pytest.raises(TypeError):
        decoder[1.5]
    with pytest.raises(TypeError, match="ints"):
        decoder.get_frames_at([1.5])
    for options in [dict(short_side=-5), dict(size=(100,)), dict(size=(0, 10)), dict(stream_index=-1)]:
        with pytest.raises(ValueError):
            clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4", **options)
    assert clipkit.VideoDecoder(FIXTURES / "h264_bframes.mp4", stream_index=np.int64(0)).metadata.stream_index == 0
    assert len(clipkit.VideoDecoder(os.fsencode(FIXTURES / "h264_bframes.mp4").decode())) == len(decoder)
    with pytest.raises(TypeError, match="path"):
        clipkit.VideoDecoder(42)
    with pytest.raises(ValueError, match="NUL"):
        clipkit.VideoDecoder(str(FIXTURES / "h264_bframes.mp4") + "\0x")
    decoder.close()
    for call in [lambda: decoder[0], lambda: decoder.get_frames_played_at([0.0])]:
        with pytest.raises(ValueError, match="closed"):
            call()
