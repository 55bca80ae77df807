"""The ``analyze_image`` tool: a question about an image, answered by a vision-language model.

The image comes from the workspace (a path) or from the crawl (a URL, looked up in the
data directory's WARC files).  Without a configured model the tool answers with an error
observation saying so; the rest of the run is unaffected.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from stepdr.core.errors import ModelError

from ..records import ToolOutput
from .base import ArgError, error, get_str
from .workspace import Workspace

MAX_IMAGE_BYTES = 20_000_000
_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
    b"BM": "bmp",
}


class VisionModel(Protocol):
    def answer(self, image: bytes, question: str) -> str: ...


def image_kind(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)


class TransformersVision:
    """A local image-text-to-text model directory (Qwen2.5-VL and the like), loaded lazily."""

    def __init__(self, path: Path, max_new_tokens: int = 512) -> None:
        self.path = path
        self.max_new_tokens = max_new_tokens
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            try:
                import torch
                from transformers import AutoModelForImageTextToText, AutoProcessor

                cuda = torch.cuda.is_available()
                model = AutoModelForImageTextToText.from_pretrained(
                    self.path,
                    dtype=torch.bfloat16 if cuda else torch.float32,
                    device_map="auto" if cuda else None,
                )
                processor: Any = AutoProcessor.from_pretrained(self.path)  # type: ignore[no-untyped-call]
                self._loaded = (processor, model)
            except (ImportError, OSError, ValueError) as e:
                raise ModelError(f"cannot load the vision model {self.path}: {e}") from None
        return self._loaded

    def answer(self, image: bytes, question: str) -> str:
        import io

        try:
            from PIL import Image
        except ImportError:
            raise ModelError("analysing images needs Pillow: pip install pillow") from None
        processor, model = self._load()
        picture = Image.open(io.BytesIO(image)).convert("RGB")
        messages = [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}
        ]
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = processor(images=[picture], text=prompt, return_tensors="pt").to(model.device)
        out = model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1] :]
        return str(processor.decode(new, skip_special_tokens=True)).strip()


NO_VISION = (
    "no vision-language model is configured (start the run with --vision-model DIR); "
    "images cannot be analysed in this run"
)


class AnalyzeImageTool:
    name = "analyze_image"

    def __init__(
        self, workspace: Workspace, vision: VisionModel | None, data_dir: Path | None = None
    ) -> None:
        self.workspace = workspace
        self.vision = vision
        self.data_dir = data_dir

    @property
    def disabled(self) -> str | None:
        """Left out of the prompt without a model; a call still gets the reason back."""
        return NO_VISION if self.vision is None else None

    @property
    def description(self) -> str:
        return (
            "analyze_image: ask a question about an image in the workspace or in the index.\n"
            '  {"path": "figure.png", "question": "What does the chart show?"}  or  '
            '{"url": "https://.../image.png", "question": ...}'
        )

    def run(self, args: Mapping[str, Any]) -> ToolOutput:
        question = get_str(args, "question", "Describe this image.")
        if "path" in args:
            data = self.workspace.read_bytes(args["path"], MAX_IMAGE_BYTES)
            where = str(args["path"])
        elif "url" in args:
            where = get_str(args, "url")
            found = self._from_warcs(where)
            if found is None:
                return error(f"no image with URL {where} in the crawled data")
            data = found
        else:
            raise ArgError('give "path" (a workspace file) or "url" (an image in the index)')
        kind = image_kind(data)
        if kind is None:
            return error(f"{where} is not an image (PNG, JPEG, GIF, WebP or BMP)")
        if self.vision is None:
            return error(NO_VISION)
        start = time.monotonic()
        answer = self.vision.answer(data, question)
        took = time.monotonic() - start
        return ToolOutput(f"{where} ({kind}, {len(data)} bytes; {took:.1f} s):\n{answer}")

    def _from_warcs(self, url: str) -> bytes | None:
        """An image a WARC in DATA/warc holds (the crawler stores none; users' WARCs may)."""
        if self.data_dir is None or not (self.data_dir / "warc").is_dir():
            return None
        from stepdr.index.warc_read import find_response, find_warcs

        data = find_response(find_warcs([self.data_dir / "warc"]), url, MAX_IMAGE_BYTES)
        return data if data is not None and image_kind(data) else None

    def close(self) -> None:
        pass
