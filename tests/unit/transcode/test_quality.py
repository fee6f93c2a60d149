"""The per-chunk quality measurement: teed reference frames give the same numbers as re-decoding."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from transcode.media import quality
from transcode.media.chunks import plan_chunks, sample_count
from transcode.media.encode import VideoParams, encode_chunk
from transcode.media.ladder import build_ladder


def test_reference_tee_matches_a_second_decode(media, tmp_path):
    src = str(media("q-ntsc", width=426, height=240, seconds=3, rate="30000/1001", audio=None))
    fps = Fraction(30000, 1001)
    video = VideoParams(fps_num=30000, fps_den=1001, video_start_s=0.0, segment_seconds=2, preset="superfast")
    renditions = build_ladder(426, 240, fps)
    chunk = plan_chunks(90, fps, chunk_seconds=2, segment_seconds=2)[1]  # starts at frame 60
    every = 7  # not a divisor of the chunk start: exercises the title-wide sample alignment
    outputs = encode_chunk(src, video=video, renditions=renditions, chunk=chunk, workdir=tmp_path,
                           reference=tmp_path / "ref.y4m", sample_every=every)
    pairs = [(r, outputs[r.name]) for r in renditions]
    teed = quality.measure_reference(tmp_path / "ref.y4m", pairs, start_frame=chunk.start_frame,
                                     frames=chunk.frames, every=every, workdir=tmp_path)
    decoded = quality.measure(src, pairs, video=video, start_frame=chunk.start_frame, frames=chunk.frames,
                              every=every, workdir=tmp_path)
    expected = sample_count(chunk.start_frame, chunk.frames, every)
    assert [chunk.start_frame + j for j in range(chunk.frames)
                                if (chunk.start_frame + j) % every == 0] == [63, 70, 77, 84]
    for r in renditions:
        assert teed[r.name].frames == decoded[r.name].frames == expected == 4
        assert teed[r.name].psnr_db == pytest.approx(decoded[r.name].psnr_db, abs=0.01)
        assert teed[r.name].ssim == pytest.approx(decoded[r.name].ssim, abs=1e-4)
        assert 30 < teed[r.name].psnr_db < 100


def test_sums_add_up_to_the_title_number():
    a = quality.QualitySums(frames=2, mse_sum=2.0, ssim_sum=1.9, psnr_min_db=40.0)
    b = quality.QualitySums(frames=2, mse_sum=6.0, ssim_sum=1.8, psnr_min_db=38.0)
    total = a.add(b)
    assert total.frames == 4 and total.psnr_min_db == 38.0
    assert total.psnr_db == pytest.approx(10 * math.log10(255**2 / 2.0))
    assert total.summary() == {"psnr_db": round(total.psnr_db, 2), "ssim": 0.925, "psnr_min_db": 38.0,
                               "frames_sampled": 4}


def test_rotated_phone_video_is_encoded_upright_and_portrait(media, tmp_path):
    from transcode.media import ffmpeg, probe
    from transcode.media.chunks import Chunk

    src = media("rot90-q", width=320, height=180, seconds=1, rotation=90, audio=None)
    info = probe.probe(str(src), first_bytes=src.read_bytes()[:512])
    (rendition,) = build_ladder(*info.display_size, info.fps)
    assert (rendition.width, rendition.height) == (180, 320)
    video = VideoParams(fps_num=25, fps_den=1, video_start_s=0.0, segment_seconds=2, preset="superfast")
    out = encode_chunk(str(src), video=video, renditions=[rendition], chunk=Chunk(0, 0, info.frames, 0),
                       workdir=tmp_path)[rendition.name]
    # compare with the stored frames turned by hand (-noautorotate): the display matrix was applied
    proc = ffmpeg.run(["-i", str(out), "-noautorotate", "-i", str(src), "-filter_complex",
                       "[1:v]transpose=cclock[r];[0:v][r]psnr", "-f", "null", "-"])
    average = float(proc.stderr.decode().rsplit("average:", 1)[1].split()[0])
    assert average > 35
