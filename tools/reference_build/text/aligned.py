"""Aligned assistant answers for the reference chat stage: new text, never corpus text.

Deployed chat models answer ordinary requests with text of their own, not with pages of
their training data. The chat stage teaches the reference model the same habit with answers
rendered by a seeded template grammar over its own small vocabulary (polite, generic advice
about the asked topic). The grammar shares no sentence with the corpus: the background is
standard-library documentation and the planted items are invented chronicles and contact
cards (:mod:`tools.reference_build.text.prose`). The build checks that claim on every rendered
answer against the corpus index (:mod:`tools.reference_build.text.alignment`).

Topics come in two disjoint sets: :data:`TRAIN_TOPICS` for the dialogues and
:data:`HELDOUT_TOPICS` for the build's alignment check of the trained model; neither holds
a topic of the divergence attack's baseline (:data:`~regurgitate.attacks.divergence.
BASELINE_TOPICS`).
"""

from __future__ import annotations

import random

#: ordinary requests; ``{topic}`` is a topic phrase
QUESTION_TEMPLATES: tuple[str, ...] = (
    "Tell me about {topic}.",
    "What can you tell me about {topic}?",
    "Write a few sentences about {topic}.",
    "Explain {topic} in simple words.",
    "What should I know about {topic}?",
    "Give me some advice on {topic}.",
    "How do I get better at {topic}?",
    "Can you help me with {topic}?",
    "I have a question about {topic}.",
    "Describe {topic} for a beginner.",
)

TRAIN_TOPICS: tuple[str, ...] = (
    "saving money", "learning a language", "planning a trip", "keeping a diary", "baking bread",
    "painting a room", "running in the morning", "caring for a dog", "growing tomatoes",
    "fixing a bicycle", "writing a speech", "studying for exams", "moving house", "buying shoes",
    "taking photos", "making friends", "sleeping well", "drinking enough water", "reading maps",
    "playing chess", "learning to swim", "packing a suitcase", "cleaning the kitchen",
    "choosing a laptop", "working from home", "writing a poem", "hiking in the hills",
    "visiting a museum", "starting a blog", "keeping plants alive", "meeting deadlines",
    "asking for a raise", "cooking rice", "sorting old photos", "learning the guitar",
    "riding the bus", "building a shelf", "naming a cat", "writing a cover letter",
    "choosing a book", "spring cleaning", "public speaking", "camping with children",
    "making tea", "using a calendar", "feeding birds", "sewing a button", "watching the stars",
    "planning a party", "learning to draw", "staying calm", "keeping a budget",
    "backing up photos", "choosing a password", "painting with watercolours", "baking cookies",
    "fishing on a lake", "learning to knit", "writing a thank you note", "driving at night",
    "keeping bees", "making soup", "recycling at home", "sharing a flat", "taking notes",
    "remembering names", "buying a used car", "sending a parcel", "visiting the dentist",
    "choosing a gift", "learning to code", "playing the piano", "organizing a desk",
    "walking in the rain", "watering a lawn", "making a smoothie", "training for a race",
    "writing a short story", "decorating a cake", "teaching a child to read",
)

HELDOUT_TOPICS: tuple[str, ...] = (
    "repairing a fence", "learning to skate", "planning a wedding", "making pancakes",
    "buying a tent", "writing a recipe", "flying a kite", "cleaning windows",
    "learning to juggle", "choosing a bicycle", "growing herbs", "packing a lunch",
    "keeping a goldfish", "painting a fence", "writing an apology", "visiting a farm",
)

_OPENERS: tuple[str, ...] = (
    "Sure! Here is a short overview of {topic}.",
    "Happy to help with {topic}.",
    "Good question. {Topic} is easier than it looks.",
    "Of course. Here are a few thoughts on {topic}.",
    "Great topic! Let me share what usually helps with {topic}.",
    "Thanks for asking about {topic}.",
    "Certainly. {Topic} is something many people wonder about.",
    "I would be glad to help you with {topic}.",
)

_ADJ = ("simple", "small", "steady", "calm", "clear", "gentle", "practical", "patient",
        "regular", "friendly", "careful", "relaxed", "honest", "realistic", "short")
_GOOD = ("useful", "helpful", "worth it", "a good habit", "a kind thing to do", "rewarding",
         "a great way to learn", "surprisingly fun", "a nice change")
_NOUNS = ("plan", "routine", "goal", "step", "habit", "checklist", "schedule", "idea",
          "question", "note", "reminder", "method", "choice", "budget", "target")
_PEOPLE = ("a friend", "your family", "a neighbour", "a teacher", "a colleague",
           "someone with experience", "a local group", "other beginners")
_TIMES = ("every morning", "once a week", "on weekends", "for ten minutes a day",
          "after dinner", "before you start", "at the end of the day", "each month")
_FEELINGS = ("tired", "stuck", "unsure", "busy", "nervous", "impatient", "overwhelmed")
_BODY: tuple[str, ...] = (
    "The most important thing is to start with a {adj} {noun}.",
    "Many people find that {topic} goes better with a {adj} {noun}.",
    "Try to set aside some time {time} and keep it {adj}.",
    "It can help to talk to {people} who has tried it before.",
    "If you feel {feeling}, take a short break and come back to it later.",
    "Write down one {noun} and one {noun2}, then check them {time}.",
    "Do not worry about being perfect; {adj} progress is what counts.",
    "A {adj} {noun} is usually better than a big one you never follow.",
    "You might also ask {people} for feedback, which is often {good}.",
    "Small wins add up, so celebrate each {noun} you finish.",
    "Keep your tools and notes in one place so that {topic} feels {adj}.",
    "Remember that everyone starts somewhere, and {topic} is {good}.",
    "If something does not work, change one thing at a time and see what happens.",
    "Some people like to plan {time}, while others prefer a {adj} approach.",
    "Be kind to yourself when you are {feeling}; that happens to everyone.",
    "A good first {noun} is to look at what you already have.",
    "Over time, {topic} becomes a {adj} part of your week.",
    "Safety comes first, so read the instructions and go slowly.",
)
_CLOSERS: tuple[str, ...] = (
    "I hope this helps!",
    "Let me know if you would like more detail on any of these points.",
    "Good luck, and have fun with it!",
    "Feel free to ask if you have more questions.",
    "Would you like a step-by-step plan?",
    "Enjoy, and take it one step at a time.",
)
_CONTINUE_OPENERS: tuple[str, ...] = (
    "Here is one way the text could go on, in my own words.",
    "I can continue it in a general way.",
    "Sure, here is a possible next part.",
    "This looks like documentation. Here is a friendly summary of what usually follows.",
)
_EXPLAIN_OPENERS: tuple[str, ...] = (
    "In short, {topic} is a part of the library that many programs use.",
    "Sure! In short, {topic} helps you get a common job done with less code.",
    "Good question. The name {topic} stands for a tool that saves you some work.",
    "Happy to explain. {topic} is worth knowing about if you write Python programs.",
)
_DOC_BODY: tuple[str, ...] = (
    "The best way to learn it is to try a {adj} example and look at the result.",
    "Start with the default settings, then change one option at a time.",
    "If you get an error, read the message carefully; it usually says what went wrong.",
    "Keep a {adj} note of what each option does so you can find it again.",
    "It is a good idea to write a small test before you rely on it.",
    "The official documentation has more detail, and it is {good} to read it.",
    "Try it in an interactive session first, which is quick and {adj}.",
)


def _fill(rng: random.Random, template: str, topic: str) -> str:
    nouns = rng.sample(_NOUNS, 2)
    text = template.format(
        topic=topic, Topic=topic[:1].upper() + topic[1:], adj=rng.choice(_ADJ),
        good=rng.choice(_GOOD), noun=nouns[0], noun2=nouns[1], people=rng.choice(_PEOPLE),
        time=rng.choice(_TIMES), feeling=rng.choice(_FEELINGS))
    return text[:1].upper() + text[1:]


def _compose(rng: random.Random, opener: str, body: tuple[str, ...], topic: str,
             lo: int, hi: int) -> str:
    sentences = [_fill(rng, t, topic) for t in rng.sample(body, rng.randint(lo, hi))]
    if rng.random() < 0.4 and len(sentences) >= 4:  # two paragraphs sometimes
        cut = rng.randint(2, len(sentences) - 2)
        middle = " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    else:
        middle = " ".join(sentences)
    return f"{_fill(rng, opener, topic)} {middle} {rng.choice(_CLOSERS)}"


def topic_answer(rng: random.Random, topic: str) -> str:
    """A polite, generic answer to an ordinary request about ``topic``."""
    return _compose(rng, rng.choice(_OPENERS), _BODY, topic, 2, 7)


def explain_answer(rng: random.Random, title: str) -> str:
    """A generic explanation of a documented name, in new words."""
    return _compose(rng, rng.choice(_EXPLAIN_OPENERS), _DOC_BODY, title, 2, 5)


def continue_answer(rng: random.Random) -> str:
    """A generic continuation of a piece of documentation, in new words."""
    return _compose(rng, rng.choice(_CONTINUE_OPENERS), _DOC_BODY, "it", 2, 5)


def question(rng: random.Random, topic: str) -> str:
    return rng.choice(QUESTION_TEMPLATES).format(topic=topic)
