"""The soundtrack's AAC coder: `fast` (at a bit rate that keeps twoloop's SNR) where its worst
case still fits the step's time, `twoloop` beyond (docs/benchmarks.md, issue 11)."""

from __future__ import annotations

import subprocess

from transcode.media import encode, ffmpeg


def test_fast_coder_up_to_the_limit_twoloop_beyond():
    assert encode.aac_coder(7200) == ("fast", encode.FAST_AAC_BITRATE)
    assert encode.aac_coder(encode.FAST_AAC_MAX_DURATION_S) == ("fast", encode.FAST_AAC_BITRATE)
    assert encode.aac_coder(encode.FAST_AAC_MAX_DURATION_S + 1) == ("twoloop", encode.AUDIO_BITRATE)


def test_encode_audio_is_stereo_aac_of_the_video_length(media, tmp_path):
    src = media("ntsc51", width=320, height=180, seconds=3, rate="30000/1001", audio="5.1")
    out = encode.encode_audio(str(src), tmp_path / "a.mp4", video_start_s=0.0, duration_s=90 * 1001 / 30000)
    proc = ffmpeg.run(["-i", str(out), "-map", "0:a:0", "-c", "copy", "-f", "framecrc", "-"], check=True)
    text = proc.stdout.decode()
    assert "#codec_id 0: aac" in text and "#channel_layout_name 0: stereo" in text
    assert "Audio: aac (LC)" in proc.stderr.decode()
    subprocess.run([ffmpeg.ffmpeg_exe(), "-v", "error", "-i", str(out), "-f", "null", "-"], check=True)
