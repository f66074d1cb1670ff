"""Result media: images sniffed and decoded, videos rendered with PyAV, renders cached on disk."""
