"""What the faces (pages, APIs) share about HTTP: parameters, the user asking, responses."""
