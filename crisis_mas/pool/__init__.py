"""The model pool: one `ModelPool` interface over vLLM, transformers+peft and OpenAI servers."""
