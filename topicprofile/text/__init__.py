"""Text: tokenizer, languages, worker pool, token cache, phrases, vocabulary and counts."""
