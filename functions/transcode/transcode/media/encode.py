"""ffmpeg command lines for one chunk of all renditions, for the title's audio, and for a single pass.

A chunk is ONE decode of the source feeding a `split` into one `scale` + libx264 encoder per
rendition (decoding once is most of the saving of a multi-output run), encoded `pad_frames` past
its end and then trimmed to exactly `frames` packets by stream copy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from pydantic.dataclasses import dataclass

from transcode.media import cmaf, ffmpeg
from transcode.media.chunks import (
    Chunk,
    force_key_frames_arg,
    gop_frames,
    keyframe_offsets,
    sample_count,
    sample_select,
    seek_seconds,
    segment_frames,
)
from transcode.media.ladder import Rendition
from transcode.models.errors import FfmpegError, MediaRejected, OutputMismatch, TransientError

# Fragmented MP4 with one fragment per keyframe (= per segment: keyframes sit exactly on the segment
# grid), negative composition offsets (the first frame is presented at its decode time, with no
# edit list a player might ignore), CMAF brands, no mfra trailer. See media/cmaf.py.
CMAF_MOVFLAGS = "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets+skip_trailer+cmaf"
AUDIO_BITRATE = "128k"
AUDIO_SAMPLE_RATE = 48000
# The soundtrack's one AAC encode is single-threaded and the longest piece of work of a long title.
# ffmpeg's `-aac_coder fast` runs 2.5-3.4x faster than the default `twoloop` on music- and noise-like
# content and needs 144k (vs twoloop's 128k) for the same SNR on music (bench.transcode --aac,
# docs/benchmarks.md). On a sustained pure tone it is 2.2x SLOWER (13.9x real time per core vs 30.7x),
# so it is used only where that worst case still ends well inside the Lambda's 15 minutes:
# 2.5 h at 13.9x is 647 s. Longer titles use twoloop (worst measured 22.7x: 4 h is 634 s).
FAST_AAC_BITRATE = "144k"
FAST_AAC_MAX_DURATION_S = 9000
AAC_FRAME_SAMPLES = 1024


@dataclass(frozen=True)
class VideoParams:
    """What every chunk of a title shares; the plan step computes it once from the probe."""

    fps_num: int
    fps_den: int
    video_start_s: float
    segment_seconds: int
    deinterlace: bool = False
    exact: bool = True  # CFR source: every chunk must come out with exactly `frames` frames
    preset: str = "veryfast"

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def timescale(self) -> int:
        """Track timescale: a multiple of the frame rate's numerator near 90 kHz, so every frame
        duration (and so every segment boundary) is a whole number of ticks (24000/1001 fps ->
        96000, 1 frame = 4004 ticks; 25 -> 90000; 30000/1001 -> 90000)."""
        return self.fps_num * max(1, math.ceil(90000 / self.fps_num))

    @property
    def frame_ticks(self) -> int:
        return self.fps_den * self.timescale // self.fps_num


def source_chain(video: VideoParams) -> str:
    """Filters from decoded source frames to the output frame grid (timestamps from 0, CFR)."""
    steps = ["setpts=PTS-STARTPTS"]
    if video.deinterlace:
        steps.append("bwdif=mode=send_frame:parity=auto:deint=interlaced")
    # A no-op for CFR sources; for VFR ones it makes the grid the plan counted frames on.
    steps.append(f"fps=fps={video.fps_num}/{video.fps_den}")
    return ",".join(steps)


def scale_chain(r: Rendition) -> str:
    return f"scale={r.width}:{r.height}:flags=bicubic,setsar=1,format=yuv420p"


def ladder_filtergraph(video: VideoParams, renditions: Sequence[Rendition],
                       reference: str | None = None) -> str:
    """`[v0]..[vN-1]`: one scaled stream per rendition; `[ref]`: the `reference` chain applied to the
    unscaled frames (the quality reference, taken from this single decode of the source)."""
    chains = [scale_chain(r) for r in renditions] + ([reference] if reference else [])
    labels = [f"v{i}" for i in range(len(renditions))] + (["ref"] if reference else [])
    head = f"[0:v:0]{source_chain(video)}"
    if len(chains) == 1:
        return f"{head},{chains[0]}[{labels[0]}]"
    parts = [f"{head},split={len(chains)}" + "".join(f"[s{i}]" for i in range(len(chains)))]
    parts += [f"[s{i}]{chain}[{label}]" for i, (chain, label) in enumerate(zip(chains, labels, strict=True))]
    return ";".join(parts)


def x264_args(r: Rendition, video: VideoParams, keyframes: str) -> list[str]:
    gop = gop_frames(video.fps, video.segment_seconds)
    return [
        "-c:v", "libx264", "-preset", video.preset, "-profile:v", r.profile,
        "-crf", str(r.crf), "-maxrate", f"{r.maxrate_kbps}k", "-bufsize", f"{r.bufsize_kbps}k",
        # Fixed GOP on the segment grid: no scene-cut keyframes, closed GOPs (x264's default),
        # and an IDR at every segment boundary of the *title* (forced, chunk-local times).
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", keyframes,
        "-fps_mode", "passthrough",
    ]


def encode_chunk(
    source: str,
    *,
    video: VideoParams,
    renditions: Sequence[Rendition],
    chunk: Chunk,
    workdir: Path,
    reference: Path | None = None,
    sample_every: int = 1,
    timeout: float | None = None,
) -> dict[str, Path]:
    """Encode one chunk of every rendition; returns {rendition name: trimmed mp4}.

    With `reference`, the sampled source frames (see `chunks.sample_select`) are also written
    there, unscaled, as y4m: the quality measurement then needs no second decode of the source,
    which for a mezzanine file costs about as much as decoding all renditions together.
    """
    fps = video.fps
    encoded = chunk.frames + chunk.pad_frames
    keyframes = force_key_frames_arg(keyframe_offsets(chunk, fps, video.segment_seconds), fps)
    args: list[str] = ["-v", "error"]
    seek = seek_seconds(chunk.start_frame, fps, video.video_start_s)
    if seek is not None:
        args += ["-ss", f"{seek:.6f}"]
    ref_chain = None
    if reference is not None:
        ref_chain = (f"trim=end_frame={chunk.frames},{sample_select(chunk.start_frame, sample_every)},"
                     "format=yuv420p")
    args += [*ffmpeg.input_args(source), "-filter_complex", ladder_filtergraph(video, renditions, ref_chain)]
    raw: dict[str, Path] = {}
    for i, r in enumerate(renditions):
        raw[r.name] = workdir / f"raw_{r.name}.mp4"
        args += ["-map", f"[v{i}]", *x264_args(r, video, keyframes), "-frames:v", str(encoded),
                 "-an", "-sn", "-dn", "-map_metadata", "-1", "-y", str(raw[r.name])]
    if reference is not None:
        # Bounded like the encodes, or ffmpeg would keep decoding the source to its end.
        args += ["-map", "[ref]", "-fps_mode", "passthrough",
                 "-frames:v", str(sample_count(chunk.start_frame, chunk.frames, sample_every)),
                 "-f", "yuv4mpegpipe", "-y", str(reference)]
    _run_media(args, what=f"encode chunk {chunk.index}", timeout=timeout, at_s=chunk.start_frame / fps)

    # Always re-muxed by stream copy into fragmented MP4 (CMAF_MOVFLAGS); with pad frames, cut to
    # exactly `frames` packets: they are in decode order and the first pad frame is an IDR of a
    # closed GOP, so the first `frames` packets are exactly the first `frames` pictures.
    out = {r.name: workdir / f"{r.name}.mp4" for r in renditions}
    remux: list[str] = ["-v", "error"]
    for r in renditions:
        remux += ["-i", str(raw[r.name])]
    for i, r in enumerate(renditions):
        remux += ["-map", f"{i}:v:0", "-c", "copy", "-frames:v", str(chunk.frames), *cmaf_args(video),
                  "-y", str(out[r.name])]
    ffmpeg.run(remux, what=f"segment chunk {chunk.index}", timeout=timeout)
    for p in raw.values():
        p.unlink(missing_ok=True)

    return out


def chunk_segments(path: Path, *, video: VideoParams, chunk: Chunk, name: str) -> cmaf.Track:
    """A chunk's fragmented MP4 as CMAF segments on the title's timeline, checked against the
    segment grid: one fragment per planned segment with exactly its frames (CFR sources; a
    resampled VFR source may end a frame short or long in its last segment, never elsewhere)."""
    track = cmaf.split(path.read_bytes(), base_time=chunk.start_frame * video.frame_ticks,
                       first_sequence=chunk.first_segment + 1)
    planned = segment_frames(chunk, video.fps, video.segment_seconds)
    got = [f.samples for f in track.fragments]
    exact = got == planned
    near = (len(got) == len(planned) and got[:-1] == planned[:-1] and got and abs(got[-1] - planned[-1]) <= 1)
    if not exact and (video.exact or not near):
        raise OutputMismatch(f"chunk {chunk.index} {name}: segments of {got[:8]}... frames "
                             f"({sum(got)} in {len(got)}), planned {planned[:8]}... ({chunk.frames} in {len(planned)})")
    if track.timescale != video.timescale:
        raise OutputMismatch(f"chunk {chunk.index} {name}: timescale {track.timescale}, expected {video.timescale}")
    return track


def cmaf_args(video: VideoParams) -> list[str]:
    # No btrt box: its bit rates would be measured per chunk, and the init segment must be the same
    # bytes for every chunk.
    return ["-f", "mp4", "-movflags", CMAF_MOVFLAGS, "-video_track_timescale", str(video.timescale),
            "-write_btrt", "0", "-map_metadata", "-1", "-fflags", "+bitexact"]


def encode_audio(source: str, out_path: Path, *, video_start_s: float, duration_s: float,
                 timeout: float | None = None) -> Path:
    """The title's audio, once: AAC-LC stereo (5.1 is downmixed), aligned to the first video frame
    and padded/cut to the video's duration so no segment of the last period lacks audio.

    One AAC frame shorter than the video: the packager keeps the encoder's 1024-sample priming
    frame, so this ends the track with the video instead of 21 ms later in a stub segment.
    """
    length = max(0.1, duration_s - AAC_FRAME_SAMPLES / AUDIO_SAMPLE_RATE)
    af = (f"asetpts=PTS-{video_start_s:.6f}/TB,"
          f"aresample={AUDIO_SAMPLE_RATE}:async=1:first_pts=0,"
          f"apad=whole_dur={length:.6f}")
    coder, bitrate = aac_coder(duration_s)
    # One ffmpeg: its CLI runs demux, decode, filters and encode in threads of their own (FFmpeg
    # >= 7), so reading the presigned URL already overlaps the encode; a second process behind a
    # pipe would only add a copy.
    args = ["-v", "error", *ffmpeg.input_args(source), "-map", "0:a:0", "-vn", "-sn", "-dn",
            "-af", af, "-t", f"{length:.6f}", "-ac", "2", "-c:a", "aac", "-aac_coder", coder, "-b:a", bitrate,
            "-map_metadata", "-1", "-movflags", "+faststart", "-y", str(out_path)]
    _run_media(args, what="encode audio", timeout=timeout, at_s=None)
    return out_path


def aac_coder(duration_s: float) -> tuple[str, str]:
    """(coder, bit rate) of the soundtrack's encode: the fast coder where its worst case fits."""
    if duration_s <= FAST_AAC_MAX_DURATION_S:
        return "fast", FAST_AAC_BITRATE
    return "twoloop", AUDIO_BITRATE


def segment_audio(audio: Path, out_dir: Path, *, segment_seconds: int,
                  timeout: float | None = None) -> tuple[Path, list[Path]]:
    """The title's AAC track as fMP4 HLS segments on the video's grid: ffmpeg's HLS muxer cuts
    before the first audio frame at or after m*segment_seconds (the title-wide grid, not
    "segment_seconds after the previous cut", which would drift 5 ms per segment), with one
    timeline for the whole track. Returns (init segment, segments in order)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ffmpeg.run(["-v", "error", "-i", str(audio), "-map", "0:a:0", "-c", "copy", "-fflags", "+bitexact",
                "-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod",
                "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
                "-hls_segment_filename", str(out_dir / "seg_%05d.m4s"), str(out_dir / "index.m3u8")],
               what="segment audio", timeout=timeout)
    init = out_dir / "init.mp4"
    segments = sorted(out_dir.glob("seg_*.m4s"))
    if not init.exists() or not segments:
        raise OutputMismatch("audio segmenting wrote no segments")
    return init, segments


def encode_single_pass(source: str, *, video: VideoParams, renditions: Sequence[Rendition],
                       total_frames: int, workdir: Path, with_audio: bool, duration_s: float,
                       timeout: float | None = None) -> dict[str, Path]:
    """The whole title in one ffmpeg run, same filters and settings (the benchmark's baseline)."""
    fps = video.fps
    whole = Chunk(index=0, start_frame=0, frames=total_frames, pad_frames=0)
    keyframes = force_key_frames_arg(keyframe_offsets(whole, fps, video.segment_seconds), fps)
    args: list[str] = ["-v", "error", *ffmpeg.input_args(source), "-filter_complex",
                       ladder_filtergraph(video, renditions)]
    out: dict[str, Path] = {}
    for i, r in enumerate(renditions):
        out[r.name] = workdir / f"single_{r.name}.mp4"
        args += ["-map", f"[v{i}]", *x264_args(r, video, keyframes), "-frames:v", str(total_frames),
                 "-an", "-y", str(out[r.name])]
    if with_audio:
        out["audio"] = workdir / "single_audio.mp4"
        coder, bitrate = aac_coder(duration_s)
        args += ["-map", "0:a:0", "-ac", "2", "-c:a", "aac", "-aac_coder", coder, "-b:a", bitrate,
                 "-t", f"{duration_s:.6f}", "-vn", "-y", str(out["audio"])]
    _run_media(args, what="single-pass encode", timeout=timeout, at_s=None)
    return out


_DECODE_ERROR = re.compile(r"error while decoding|Invalid data found when processing input|"
                           r"corrupt (decoded )?frame|Invalid NAL unit|decode_slice_header error",
                           re.IGNORECASE)


def _run_media(args: list[str], *, what: str, timeout: float | None, at_s: Fraction | float | None) -> None:
    proc = ffmpeg.run(args, check=False, timeout=timeout, what=what)
    if proc.returncode == 0:
        return
    tail = ffmpeg.stderr_tail(proc.stderr)
    if re.search(r"Server returned|Connection (refused|reset|timed out)|Input/output error", tail):
        raise TransientError(f"{what}: could not read the source: {tail}")
    unsupported = re.search(r"Decoder \(codec (\w+)\) not found|Unsupported codec[^\n]*", tail)
    if unsupported:
        codec = unsupported.group(1) or "the video codec"
        raise MediaRejected(f"The video uses {codec}, which we cannot decode. Re-export it as H.264, "
                            "HEVC, ProRes, VP9 or AV1 and upload it again.")
    if _DECODE_ERROR.search(tail):
        where = f" around {float(at_s):.0f} s" if at_s is not None else ""
        raise MediaRejected(f"The video data is damaged{where} and cannot be decoded "
                            f"({tail.splitlines()[-1][:200]}). Re-export the video and upload it again.")
    raise FfmpegError(f"{what} failed with exit code {proc.returncode}", tail)
