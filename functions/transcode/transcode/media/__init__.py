"""Media logic: probing, ladder and chunk planning (pure), ffmpeg command lines, packaging, quality."""
