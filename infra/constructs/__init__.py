"""One construct per concern; `infra.reelstack_stack.ReelstackStack` composes them."""
