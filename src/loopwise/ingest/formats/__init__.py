"""SDK wire formats mapped onto the one internal event shape (``CaptureEvent``).

One module per protocol (``posthog``, ``segment``); ``common`` holds what they share:
timestamps with clock-skew correction, per-message rejections and the parsed batch.
"""
