"""Expert commanders: profiles (data), selection, prompting, assessment and learned reliability."""
