"""Reelstack infrastructure (AWS CDK v2, Python)."""

import os

# jsii prints a Node-20 end-of-life banner when its kernel starts (at the first `import aws_cdk`);
# set before any submodule imports aws_cdk. It is noise in synth output and tests.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
