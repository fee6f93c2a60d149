"""Single-pass ladder encode vs the chunked path, on a generated source.

    python -m bench.transcode                      # 60 s 1080p, 10 s chunks (a few minutes)
    python -m bench.transcode --seconds 12 --height 360 --chunk-seconds 4   # quick check
    python -m bench.transcode --long 600,1800,7200 --preset superfast      # long-title mode
    python -m bench.transcode --probe 600          # probe: index vs whole-source read, bytes + wall
    python -m bench.transcode --aac 60             # AAC coders (fast vs twoloop): speed and SNR

Both paths use the same library code and settings (transcode.media.*): the same ladder, filters,
x264 settings and segment-grid keyframes. The chunked path runs its chunks one after another but
times each, as if each ran in its own Lambda:
  critical_path = slowest chunk (encode + cutting its CMAF segments) + audio (encode + segment)
  + assemble (playlists from segment records); audio really runs beside the chunks, so this is
  conservative. fanout_speedup = single_wall / critical_path.
  cpu_ratio = (all chunks + audio + assemble CPU) / single-pass CPU (ffmpeg children, rusage).
Quality: PSNR/SSIM of every rendition of both outputs against the source on the same sampled
frames (2 per second), measured in one ffmpeg run after the timed parts.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "functions" / "transcode"))

from transcode.logic.planning import make_plan  # noqa: E402
from transcode.media import cmaf, ffmpeg, hls, probe, quality  # noqa: E402
from transcode.media.chunks import Chunk  # noqa: E402
from transcode.media.encode import (  # noqa: E402
    chunk_segments,
    encode_audio,
    encode_chunk,
    encode_single_pass,
    segment_audio,
)
from transcode.models.settings import Settings  # noqa: E402

OUT = REPO / "bench" / "out" / "transcode"
T = TypeVar("T")


@dataclasses.dataclass
class Timed:
    wall_s: float
    cpu_s: float


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], T]) -> tuple[T, Timed]:
    cpu0, t0 = children_cpu(), time.perf_counter()
    result = fn()
    return result, Timed(time.perf_counter() - t0, children_cpu() - cpu0)


def make_source(path: Path, seconds: int, height: int) -> Path:
    """testsrc2 (moving pattern, scrolling gradients, counter) with temporal noise like film grain,
    so x264 has real work per frame, plus 5.1 audio to exercise the downmix."""
    if path.exists():
        return path
    width = (height * 16 // 9) // 2 * 2
    video = f"testsrc2=size={width}x{height}:rate=30000/1001:duration={seconds},noise=alls=10:allf=t,hue=H=2*PI*t/20"
    audio = f"sine=frequency=220:sample_rate=48000:duration={seconds},aformat=channel_layouts=5.1"
    tmp = path.with_suffix(".tmp.mp4")
    subprocess.run(
        [
            ffmpeg.ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            video,
            "-f",
            "lavfi",
            "-i",
            audio,
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "16",
            "-g",
            "60",
            "-c:a",
            "aac",
            "-b:a",
            "256k",
            "-movflags",
            "+faststart",
            "-y",
            str(tmp),
        ],
        check=True,
    )
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--chunk-seconds", type=int, default=10)
    parser.add_argument("--segment-seconds", type=int, default=2)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--keep", action="store_true", help="keep the outputs under bench/out/transcode")
    parser.add_argument(
        "--per-rendition",
        action="store_true",
        help="also time the alternative fan-out: one Map item per (chunk, rendition), each decoding the source",
    )
    parser.add_argument(
        "--long",
        default="",
        help="long-title mode instead: comma-separated source lengths in seconds (e.g. 600,1800,7200); "
        "the shipped steps end to end at 128x72, assemble measured alone (bench/transcode_long.py)",
    )
    parser.add_argument(
        "--probe",
        type=int,
        default=0,
        help="probe mode instead: a SECONDS-long 1080p ~10 Mbit/s MP4 (a 20 s clip looped by stream copy), "
        "moov at the end and at the start; bytes read and wall time of the index probe vs the full read",
    )
    parser.add_argument(
        "--aac",
        type=int,
        default=0,
        help="AAC mode instead: SECONDS-long music-, noise- and tone-like clips (two sets), ffmpeg's "
        "native AAC at 128k stereo with -aac_coder fast vs twoloop: x real time per CPU second and SNR",
    )
    args = parser.parse_args(argv)
    if args.aac:
        return aac_figures(args.aac)
    if args.probe:
        return probe_figures(args.probe)
    if args.long:
        return long_titles([int(x) for x in args.long.split(",") if x.strip()], args.preset)

    OUT.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    src = make_source(OUT / f"source-{args.seconds}s-{args.height}p.mp4", args.seconds, args.height)
    info = probe.probe(str(src), first_bytes=src.read_bytes()[:512])
    settings = Settings(
        ingest_bucket="-",
        media_bucket="-",
        catalog_table="-",
        parts_table="-",
        event_bus_name="-",
        chunk_seconds=args.chunk_seconds,
        segment_seconds=args.segment_seconds,
        x264_preset=args.preset,
    )
    plan = make_plan(info, settings)
    video, renditions, chunks = plan.video, plan.renditions, plan.chunks
    work = OUT / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(
        f"source {src.name}: {info.width}x{info.height} {float(info.fps):.3f} fps, {info.frames} frames, "
        f"{len(chunks)} chunks of {args.chunk_seconds} s, ladder {[r.name for r in renditions]}, "
        f"preset {args.preset}, load {load_before[0]:.2f}",
        flush=True,
    )

    # --- single pass: the whole ladder + audio in one ffmpeg --------------------------------
    single, single_t = timed(
        lambda: encode_single_pass(
            str(src),
            video=video,
            renditions=renditions,
            total_frames=plan.total_frames,
            workdir=work,
            with_audio=info.has_audio,
            duration_s=plan.duration_s,
        )
    )
    print(f"single pass: {single_t.wall_s:.1f} s wall, {single_t.cpu_s:.1f} s CPU", flush=True)

    # --- chunked: each chunk as its own encode_chunk + segmenting, then audio, then assemble --
    chunk_times: list[Timed] = []
    per_rendition: dict[str, list[Path]] = {r.name: [] for r in renditions}
    fragments: dict[str, list[cmaf.Fragment]] = {r.name: [] for r in renditions}
    inits: dict[str, set[bytes]] = {r.name: set() for r in renditions}
    for c in chunks:
        cdir = work / f"chunk{c.index:05d}"
        cdir.mkdir()

        def one_chunk(c: Chunk = c, cdir: Path = cdir) -> dict[str, Path]:
            # as the encode_chunk step does: sampled reference frames teed off the same decode, then
            # each rendition cut into its final CMAF segments on the title's timeline
            outs = encode_chunk(str(src), video=video, renditions=renditions, chunk=c, workdir=cdir,
                                reference=cdir / "reference.y4m", sample_every=plan.quality_every)
            for r in renditions:
                track = chunk_segments(outs[r.name], video=video, chunk=c, name=r.name)
                inits[r.name].add(track.init)
                fragments[r.name] += track.fragments
            return outs

        outs, t = timed(one_chunk)
        chunk_times.append(t)
        for name, path in outs.items():
            per_rendition[name].append(path)
        print(f"chunk {c.index}: {c.frames} frames, {t.wall_s:.1f} s wall, {t.cpu_s:.1f} s CPU", flush=True)

    def audio_step() -> list[hls.Segment]:
        out = encode_audio(str(src), work / "audio.mp4", video_start_s=info.video_start_s, duration_s=plan.duration_s)
        init, paths = segment_audio(out, work / "audio_hls", segment_seconds=args.segment_seconds)
        head = init.read_bytes()
        frags = [cmaf.split(head + p.read_bytes(), base_time=None).fragments[0] for p in paths]
        return [hls.Segment(i, f.duration / 48000, len(f.data)) for i, f in enumerate(frags)]

    audio_segments, audio_t = timed(audio_step) if info.has_audio else ([], Timed(0.0, 0.0))

    def assemble() -> list[tuple[str, Path]]:
        # what the assemble step now does: playlists from segment records (no media touched)
        for r in renditions:
            segs = [hls.Segment(i, f.duration / video.timescale, len(f.data)) for i, f in enumerate(fragments[r.name])]
            (work / f"{r.name}.m3u8").write_text(hls.media_playlist(segs))
        return []

    _nothing, assemble_t = timed(assemble)
    joined: list[tuple[str, Path]] = []
    for r in renditions:  # the stream a player sees: the init segment, then every segment
        assert len(inits[r.name]) == 1, f"{r.name}: chunks made different init segments"
        path = work / f"chunked_{r.name}.mp4"
        path.write_bytes(next(iter(inits[r.name])) + b"".join(f.data for f in fragments[r.name]))
        joined.append((r.name, path))
    print(f"audio {audio_t.wall_s:.1f} s ({len(audio_segments)} segments), assemble {assemble_t.wall_s:.2f} s",
          flush=True)

    # one sample of the quality measurement the encode_chunk handler adds per chunk (not in totals)
    sample_q, sample_q_t = timed(
        lambda: quality.measure_reference(
            work / "chunk00000" / "reference.y4m",
            [(r, per_rendition[r.name][0]) for r in renditions],
            start_frame=chunks[0].start_frame,
            frames=chunks[0].frames,
            every=plan.quality_every,
            workdir=work / "chunk00000",
        )
    )

    # --- quality of both outputs, same sampled frames, one decode of the source -------------
    pairs = [(dataclasses.replace(r, name=f"single:{r.name}"), single[r.name]) for r in renditions]
    pairs += [(dataclasses.replace(r, name=f"chunked:{r.name}"), dict(joined)[r.name]) for r in renditions]
    sums = quality.measure(
        str(src),
        pairs,
        video=video,
        start_frame=0,
        frames=plan.total_frames,
        every=plan.quality_every,
        workdir=work,
    )

    # --- the alternative design: one Map item per (chunk, rendition) ------------------------
    # Each item decodes its source range itself, so decode work is repeated per rendition; the
    # critical path becomes the slowest (chunk, top rendition) item.
    item_times: dict[str, list[Timed]] = {}
    if args.per_rendition:
        for c in chunks:
            for r in renditions:
                idir = work / f"item{c.index:05d}_{r.name}"
                idir.mkdir()
                _out, t = timed(
                    functools.partial(
                        encode_chunk, str(src), video=video, renditions=[r], chunk=c, workdir=idir
                    )
                )
                item_times.setdefault(r.name, []).append(t)
                print(f"item chunk {c.index} {r.name}: {t.wall_s:.1f} s wall, {t.cpu_s:.1f} s CPU", flush=True)
                shutil.rmtree(idir, ignore_errors=True)

    frames_ok = all(ffmpeg.frame_count(p) == plan.total_frames for _n, p in joined)
    slowest = max(t.wall_s for t in chunk_times)
    critical = slowest + audio_t.wall_s + assemble_t.wall_s
    chunked_cpu = sum(t.cpu_s for t in chunk_times) + audio_t.cpu_s + assemble_t.cpu_s
    critical_cpu = max(t.cpu_s for t in chunk_times) + audio_t.cpu_s + assemble_t.cpu_s
    result: dict[str, Any] = {
        "source": {"seconds": args.seconds, "height": args.height, "frames": plan.total_frames, "fps": plan.fps},
        "chunk_seconds": args.chunk_seconds,
        "chunks": len(chunks),
        "preset": args.preset,
        "renditions": [r.name for r in renditions],
        "single_wall_s": round(single_t.wall_s, 2),
        "single_cpu_s": round(single_t.cpu_s, 2),
        "chunked_cpu_s": round(chunked_cpu, 2),
        "chunk_wall_s": [round(t.wall_s, 2) for t in chunk_times],
        "chunk_cpu_s": [round(t.cpu_s, 2) for t in chunk_times],
        "slowest_chunk_s": round(slowest, 2),
        "audio_s": round(audio_t.wall_s, 2),
        "assemble_s": round(assemble_t.wall_s, 2),
        "critical_path_s": round(critical, 2),
        "fanout_speedup": round(single_t.wall_s / critical, 2),
        # The same ratio from CPU seconds: what wall times would show on idle, equal workers
        # (the benchmark box is shared, so its wall times carry other people's load).
        "critical_path_cpu_s": round(critical_cpu, 2),
        "fanout_speedup_cpu": round(single_t.cpu_s / critical_cpu, 2),
        "cpu_ratio": round(chunked_cpu / single_t.cpu_s, 3),
        "chunk_quality_sample": {
            "wall_s": round(sample_q_t.wall_s, 2),
            "cpu_s": round(sample_q_t.cpu_s, 2),
            "psnr_db": {k: round(v.psnr_db, 2) for k, v in sample_q.items()},
        },
        "psnr_db": {
            r.name: {
                "single": round(sums[f"single:{r.name}"].psnr_db, 2),
                "chunked": round(sums[f"chunked:{r.name}"].psnr_db, 2),
            }
            for r in renditions
        },
        "ssim": {
            r.name: {
                "single": round(sums[f"single:{r.name}"].ssim, 5),
                "chunked": round(sums[f"chunked:{r.name}"].ssim, 5),
            }
            for r in renditions
        },
        "frames_exact": frames_ok,
        "frames_sampled": sums[f"single:{renditions[0].name}"].frames,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if item_times:
        items = [t for ts in item_times.values() for t in ts]
        item_critical = max(t.wall_s for t in items) + audio_t.wall_s + assemble_t.wall_s
        item_cpu = sum(t.cpu_s for t in items) + audio_t.cpu_s + assemble_t.cpu_s
        result["per_rendition_items"] = {
            "items": len(items),
            "slowest_item_s": round(max(t.wall_s for t in items), 2),
            "critical_path_s": round(item_critical, 2),
            "fanout_speedup": round(single_t.wall_s / item_critical, 2),
            "cpu_s": round(item_cpu, 2),
            "cpu_ratio": round(item_cpu / single_t.cpu_s, 3),
            "cpu_s_by_rendition": {k: round(sum(t.cpu_s for t in v), 2) for k, v in item_times.items()},
        }
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, sort_keys=False))
    return result


def probe_figures(seconds: int) -> dict[str, Any]:
    """Bytes read and wall time of both probe paths on a long local source (moov at end / start).

    A local file stands in for S3: bytes read are what each path asks for (our ranged reads +
    ffmpeg's AVIOContext statistics), so they carry over; wall time does not (disk cache vs ~75 MB/s)."""
    OUT.mkdir(parents=True, exist_ok=True)
    clip = OUT / "probe-clip-20s-1080p.mp4"
    if not clip.exists():
        subprocess.run([ffmpeg.ffmpeg_exe(), "-nostdin", "-v", "error",
                        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=24000/1001:duration=20,noise=alls=12:allf=t",
                        "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000:duration=20,"
                        "aformat=channel_layouts=5.1",
                        "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "10M",
                        "-maxrate", "10M", "-bufsize", "20M", "-g", "48", "-x264-params", "bframes=2",
                        "-c:a", "aac", "-b:a", "384k", "-y", str(clip)], check=True)
    runs = []
    for layout, flags in (("moov at end", []), ("moov at start", ["-movflags", "+faststart"])):
        src = OUT / f"probe-source-{seconds}s-{'start' if flags else 'end'}.mp4"
        if not src.exists():
            subprocess.run([ffmpeg.ffmpeg_exe(), "-nostdin", "-v", "error", "-stream_loop", "-1",
                            "-i", str(clip), "-t", str(seconds), "-c", "copy", *flags, "-y", str(src)], check=True)
        head = src.read_bytes()[:512]
        row: dict[str, Any] = {"layout": layout, "seconds": seconds, "size_bytes": src.stat().st_size}
        for method in ("index", "full"):
            stats = probe.ProbeStats()
            t0 = time.perf_counter()
            if method == "index":
                info = probe.probe(str(src), first_bytes=head, stats=stats)
            else:
                info = probe.probe_full(str(src), first_bytes=head, stats=stats)
            wall = time.perf_counter() - t0
            row[method] = {"method": stats.method, "wall_s": round(wall, 2),
                           "index_bytes": stats.index_bytes, "ffmpeg_bytes": stats.ffmpeg_bytes,
                           "read_fraction": round((stats.index_bytes + stats.ffmpeg_bytes) / row["size_bytes"], 5),
                           "frames": info.frames, "duration_s": info.duration_s}
            row[f"info_{method}"] = info
        row["same_media_info"] = row.pop("info_index") == row.pop("info_full")
        print(json.dumps(row), flush=True)
        runs.append(row)
    result = {"mode": "probe", "runs": runs, "loadavg": [round(x, 2) for x in os.getloadavg()],
              "cpus": os.cpu_count()}
    print(json.dumps(result))
    return result


# Two sets of clips: the coder is chosen on set A and reported on set B (different notes, tempo,
# noise colour and seed, tone frequency). random(0) makes percussive noise bursts (hi-hat-like).
AAC_CLIPS = {
    "A": {
        "music": "aevalsrc='0.25*sin(2*PI*110*t)+0.15*sin(2*PI*220*t)*(1+0.5*sin(2*PI*2*t))"
                 "+0.12*sin(2*PI*277.18*t)+0.1*sin(2*PI*329.63*t*(1+0.003*sin(2*PI*5*t)))"
                 "+0.05*sin(2*PI*1318.5*t)*exp(-4*mod(t,0.75))+0.15*(random(0)*2-1)*exp(-30*mod(t,0.375))"
                 "|0.25*sin(2*PI*110*t)+0.12*sin(2*PI*220.5*t)+0.1*sin(2*PI*329.63*t)"
                 "+0.06*sin(2*PI*659.25*t)*exp(-3*mod(t+0.2,0.75))+0.15*(random(1)*2-1)*exp(-30*mod(t,0.375))'"
                 ":s=48000",
        "noise": "anoisesrc=color=pink:amplitude=0.3:seed=1:r=48000,aformat=channel_layouts=stereo",
        "tone": "sine=frequency=440:sample_rate=48000,aformat=channel_layouts=stereo",
    },
    "B": {
        "music": "aevalsrc='0.25*sin(2*PI*98*t)+0.14*sin(2*PI*196*t)*(1+0.4*sin(2*PI*1.5*t))"
                 "+0.12*sin(2*PI*246.94*t)+0.1*sin(2*PI*293.66*t*(1+0.004*sin(2*PI*6*t)))"
                 "+0.06*sin(2*PI*1174.7*t)*exp(-5*mod(t,0.6))+0.12*(random(0)*2-1)*exp(-25*mod(t,0.3))"
                 "|0.25*sin(2*PI*98*t)+0.12*sin(2*PI*196.4*t)+0.1*sin(2*PI*392*t)"
                 "+0.07*sin(2*PI*587.33*t)*exp(-3*mod(t+0.1,0.6))+0.12*(random(1)*2-1)*exp(-25*mod(t,0.3))'"
                 ":s=48000",
        "noise": "anoisesrc=color=white:amplitude=0.2:seed=7:r=48000,aformat=channel_layouts=stereo",
        "tone": "sine=frequency=1000:sample_rate=48000,aformat=channel_layouts=stereo",
    },
}


def _pcm(path: Path) -> Any:
    import numpy as np

    raw = subprocess.run([ffmpeg.ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le",
                          "-ac", "2", "-ar", "48000", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).astype(np.float64)


def _snr_db(ref: Any, out: Any) -> float:
    """SNR of the decoded AAC against the source. ffmpeg's decode trims the encoder's priming frame
    (edit list), so the two are sample-aligned; the first and last 2048 samples are left out."""
    import numpy as np

    n = min(len(ref), len(out))
    r, o = ref[2048:n - 2048], out[2048:n - 2048]
    err = float(np.sum((r - o) ** 2))
    return round(10 * float(np.log10(float(np.sum(r**2)) / err)), 2) if err else 300.0


def aac_figures(seconds: int) -> dict[str, Any]:
    work = OUT / "aac"
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip_set, clips in AAC_CLIPS.items():
        for kind, graph in clips.items():
            wav = work / f"{clip_set}-{kind}-{seconds}s.wav"
            if not wav.exists():
                subprocess.run([ffmpeg.ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", graph,
                                "-t", str(seconds), "-c:a", "pcm_f32le", "-y", str(wav)], check=True)
            ref = _pcm(wav)
            for coder, bitrate in (("twoloop", "128k"), ("fast", "128k"), ("fast", "144k")):
                out = work / f"{clip_set}-{kind}-{coder}-{bitrate}.m4a"
                (_, t) = timed(lambda out=out, coder=coder, bitrate=bitrate, wav=wav: subprocess.run(
                    [ffmpeg.ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(wav), "-ac", "2",
                     "-c:a", "aac", "-aac_coder", coder, "-b:a", bitrate, "-y", str(out)], check=True))
                snr = _snr_db(ref, _pcm(out))
                row = {"set": clip_set, "content": kind, "coder": coder, "bitrate": bitrate, "seconds": seconds,
                       "x_realtime_per_cpu_s": round(seconds / t.cpu_s, 1), "wall_s": round(t.wall_s, 2),
                       "kbit_s": round(out.stat().st_size * 8 / seconds / 1000, 1), "snr_db": snr}
                print(json.dumps(row), flush=True)
                rows.append(row)
    result = {"mode": "aac", "rows": rows, "loadavg": [round(x, 2) for x in os.getloadavg()],
              "cpus": os.cpu_count()}
    print(json.dumps(result))
    return result


def long_titles(lengths: list[int], preset: str) -> dict[str, Any]:
    from bench.transcode_long import run_length

    OUT.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    runs = []
    for seconds in lengths:
        run = run_length(seconds, OUT, preset)
        print(json.dumps(run), flush=True)
        runs.append(run)
    result = {"mode": "long", "preset": preset, "runs": runs,
              "loadavg_before": [round(x, 2) for x in load_before],
              "loadavg_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
