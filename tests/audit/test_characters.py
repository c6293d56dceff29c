"""Character copying: names by the documented rule, or given; counted against controls."""

from __future__ import annotations

from regurgitate.attacks.base import AttackContext
from regurgitate.audit.characters import (
    CharacterPromptsAttack,
    character_figures,
    extract_names,
    reproduced,
)
from regurgitate.audit.works import Work

STORY = ("Marigold Thistlewood lived by the river. Every morning Marigold fed the geese, and "
         "her brother Osric Fenwhistle mended nets. When Osric sang, the geese fled. "
         "Then the miller came. The miller said that Marigold and Osric were late. "
         "Tuesday came and went. River folk never hurry, said Bramble once.")


def test_names_are_recurring_capitalised_words_seen_mid_sentence() -> None:
    names = extract_names(STORY)
    assert set(names) == {"Marigold", "Osric"}
    # "Then", "Tuesday", "The" start sentences or are function words; "Bramble" occurs once;
    # "River" also occurs in lowercase ("river"), so it is an ordinary word
    once = extract_names(STORY, min_count=1)
    assert "Bramble" in once and "Fenwhistle" in once
    assert not {"Then", "Tuesday", "River", "The", "When"} & set(once)


def test_copied_names_are_counted_next_to_the_controls() -> None:
    works = [Work("w1", STORY, "The Geese of Fenwhistle"),
             Work("w2", "A story.", "Another", names=("Quillon", "Marigold"))]
    by_work = {"w1": ["Marigold walked with Osric.", "Osric laughed."],
               "w2": ["Nobody here, Marigolds."]}
    controls = ["A girl named Marigold sold bread."]
    figs = character_figures(works, by_work, controls)
    assert figs["w1"]["copied"] == 2 and figs["w1"]["control_copied"] == 1
    assert figs["w1"]["copied_names"] == ["Marigold", "Osric"]
    assert figs["w2"]["source"] == "given" and figs["w2"]["copied"] == 0  # whole words only
    assert reproduced(["Osric"], ["osric"]) == set()


def test_prompts_cover_each_title_and_each_control() -> None:
    attack = CharacterPromptsAttack(works=(Work("w1", STORY, "The Geese"),),
                                    controls=("C1", "C2"), samples=3)
    prompts = attack.prompts(AttackContext(index=None, seed=5))
    assert len(prompts) == 3 + 2 * 3
    assert len({p.id for p in prompts}) == len(prompts)
    assert '"The Geese"' in prompts[0].as_text()
    assert sum("control" in p.meta for p in prompts) == 6
