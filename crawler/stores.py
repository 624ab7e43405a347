"""Where posts and images are kept: a folder, or one of Scrapy's remote file stores.

``IMAGES_STORE`` has always gone through Scrapy's stores (FilesPipeline); ``POSTS_STORE`` goes
through the same ones, so ``s3://bucket/posts/`` (with Scrapy's ``AWS_*`` settings, e.g.
``AWS_ENDPOINT_URL`` for a MinIO-style server) works for both (images may also go to ``gs://``
or ``ftp://``). A folder is written through a temporary file and a rename; a remote store gets
each file in one request (one PUT of the whole file is atomic on S3), so no reader ever sees
half of one.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from scrapy.pipelines.files import FSFilesStore, S3FilesStore
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawler.files import write_atomic


class AtomicFSFilesStore(FSFilesStore):
    """The file-system store, writing through a temporary file and a rename, so a killed run
    never leaves half a file under its final name."""

    def __init__(self, basedir) -> None:
        # Made here first: Scrapy's store checks for the folder and then makes it, which fails
        # when two workers sharing it start at once.
        Path(str(basedir).removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        super().__init__(basedir)
        self._folders: set[Path] = set()
        """Folders known to exist: one mkdir per folder and run, not one per file."""

    def persist_file(self, path, buf, info, meta=None, headers=None) -> None:
        target = Path(self.basedir, path)
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        write_atomic(target, buf.getvalue(), make_folder=False)

    def has(self, path: str) -> bool:
        return Path(self.basedir, path).is_file()

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it is not there (for ``crawler publish``)."""
        try:
            return Path(self.basedir, path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None


class ConfiguredS3FilesStore(S3FilesStore):
    """Scrapy's S3 store, given its settings when it is made rather than through class
    attributes: the posts' store and the images' can differ, and nothing is shared."""

    def __init__(self, uri: str, settings) -> None:
        self.AWS_ACCESS_KEY_ID = settings["AWS_ACCESS_KEY_ID"]
        self.AWS_SECRET_ACCESS_KEY = settings["AWS_SECRET_ACCESS_KEY"]
        self.AWS_SESSION_TOKEN = settings["AWS_SESSION_TOKEN"]
        self.AWS_ENDPOINT_URL = settings["AWS_ENDPOINT_URL"]
        self.AWS_REGION_NAME = settings["AWS_REGION_NAME"]
        self.AWS_USE_SSL = settings["AWS_USE_SSL"]
        self.AWS_VERIFY = settings["AWS_VERIFY"]
        self.POLICY = settings["FILES_STORE_S3_ACL"]
        super().__init__(uri)

    def has(self, path: str) -> bool:
        return True  # the state is trusted rather than a request per file (see read)

    def read(self, path: str) -> bytes | None:
        """The object's bytes, or None when it is not there (for ``crawler publish``, which
        runs outside the crawl, so the request is made here and now)."""
        try:
            answer = self.s3_client.get_object(Bucket=self.bucket, Key=f"{self.prefix}{path}")
        except self.s3_client.exceptions.NoSuchKey:
            return None
        return answer["Body"].read()


def open_store(uri: str, settings):
    """The store ``POSTS_STORE`` (or, for ``crawler publish``, ``IMAGES_STORE``) names: a folder
    (a path or ``file://``) or ``s3://``."""
    scheme = "" if Path(uri).is_absolute() else urlsplit(uri).scheme
    if scheme in ("", "file"):
        return AtomicFSFilesStore(uri)
    if scheme == "s3":
        return ConfiguredS3FilesStore(uri, settings)
    raise ValueError(f"{uri}: must be a folder or an s3:// URL")


async def settled(answer):
    """A store's answer: remote stores answer with a Deferred, a folder at once."""
    if isinstance(answer, Deferred):
        return await maybe_deferred_to_future(answer)
    return answer
