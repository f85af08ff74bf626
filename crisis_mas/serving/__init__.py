"""The model pool: one interface (`ModelPool`) over vLLM, transformers+peft and OpenAI-compatible servers."""
