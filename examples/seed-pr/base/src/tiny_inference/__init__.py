"""A stand-in for a model server: it echoes what it is asked."""


def answer(prompt: str) -> str:
    return prompt.strip()
