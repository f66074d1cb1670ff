"""The model family: model pages loaded and checked, what a request asks a model to make
(`outputs`), and the loaded catalogue that validates createTask by model."""
