"""Retrieval-augmented grounding: our knowledge base, FAISS + BM25 hybrid search, citations."""
