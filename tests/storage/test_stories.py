"""Stories: blocks keep a dense order through adds, moves and deletes; slugs are unique per event."""

from __future__ import annotations

import pytest

from aggregator.storage.stories import SEED_SECTIONS, StoryError, slugify
from tests.factories import approved, make_post, migrated_storage


def test_story_blocks_keep_their_order(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        storage.ingest(ev.id, None, [approved(make_post(1))], None)
        [post] = storage.posts(ev.id).posts
        story = storage.create_story(ev.id, "The day", None, seed=True)
        assert [b.heading for b in story.blocks] == list(SEED_SECTIONS)
        welcome, workshops = story.blocks[0].id, story.blocks[1].id
        storage.add_story_block(story.id, "text", body="Opening words", section_id=welcome)
        storage.add_story_block(story.id, "post", post_id=post.id, section_id=workshops)
        storage.add_story_block(story.id, "text", body="More opening words", section_id=welcome)
        storage.add_story_block(story.id, "text", body="The end")
        found = storage.story(ev.id, story.slug)
        assert found is not None
        order = [(b.kind, b.heading or b.body or b.post_id) for b in found.blocks]
        assert order[:6] == [
            ("section", "Welcome and opening remarks"), ("text", "Opening words"), ("text", "More opening words"),
            ("section", "Workshops and open space"), ("post", post.id), ("section", "Bringing it all together")]
        assert order[-1] == ("text", "The end")
        assert [b.position for b in found.blocks] == list(range(len(found.blocks)))
        storage.move_story_block(story.id, found.blocks[2].id, -1)
        storage.delete_story_block(story.id, found.blocks[1].id)
        again = storage.story(ev.id, story.slug)
        assert again is not None
        assert [b.body for b in again.blocks[:3]] == ["", "More opening words", ""]
        assert [b.position for b in again.blocks] == list(range(len(again.blocks)))
        with pytest.raises(Exception, match="section"):
            storage.add_story_block(story.id, "text", section_id=999999)
        with pytest.raises(StoryError):
            storage.add_story_block(story.id, "script")


def test_drafts_publishing_and_unique_slugs(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        a = storage.create_story(ev.id, "Our Day!", None)
        b = storage.create_story(ev.id, "Our day", None)
        assert (a.slug, b.slug) == ("our-day", "our-day-2")
        assert storage.stories(ev.id) == []
        storage.update_story(a.id, status="published")
        [shown] = storage.stories(ev.id)
        assert shown.slug == "our-day" and shown.published_at is not None
        assert len(storage.stories(ev.id, include_drafts=True)) == 2


def test_slugify() -> None:
    assert slugify("Ça va? Les ateliers — 2014") == "ca-va-les-ateliers-2014"
    assert slugify("<script>") == "script"
    assert slugify("你好") == "story"
