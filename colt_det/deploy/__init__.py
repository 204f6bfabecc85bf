"""Deploying tickets: slim (physically narrower) models from channel tickets, ONNX export."""
