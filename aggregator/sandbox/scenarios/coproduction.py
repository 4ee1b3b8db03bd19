"""A whole conference day on every platform: ~600 posts, modelled on a national co-production conference.

`coproduction_day()` is deterministic (one seeded generator, no clock): the
same Scenario every call. Offset 0 is 09:00 Europe/London on 2014-04-23
(`EVENT_START`, 08:00 UTC), so the posts line up with config/demo.toml's
programme (`PROGRAMME`) when the sandbox is anchored there:

    Sandbox(coproduction_day(), start=EVENT_START)                 # live: offset 0 is 09:00
    Sandbox(coproduction_day(), fast=True, start=fast_anchor())    # fast: every post dated on the day

Everyone in it is fictional: the delegates, the speakers, the social
reporter and the organisations are invented (the real conference this
follows is only the shape of the day).

What moderation should do with it (demo.toml: mode "post", blocked_words
casino / "crypto giveaway", the shipped profanity list, hide_content_warnings
on by default) is in `expected_catch_reasons()`; the ids say it too:

    spam-*      blocked_word     rejected (casino, crypto giveaway)
    rude-*      profanity        queued (mild words from aggregator/data/profanity.txt)
    cw-*        content_warning  queued (Mastodon spoiler text)
    offtopic-*  offtopic         another event on #coproduction (a film co-production forum);
                                 no automatic rule can tell, a moderator hides them

Other features, by id (see FEATURES): a retweet storm at the keynote,
boosts and reposts, one person cross-posting the same text on X, Mastodon
and Bluesky, the same photo on Flickr and in a tweet, Mastodon posts seen
through both instances, replies and quotes, right-to-left text and emoji,
posts in Scottish Gaelic, Polish, Arabic and Urdu, a post deleted at its
source, an edited post, reporter videos, YouTube interviews and a graphic
facilitation timelapse, and a few blog entries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aggregator.sandbox.ids import youtube_video_id
from aggregator.sandbox.scenario import (
    InstanceSpec,
    MediaSpec,
    Person,
    PlatformName,
    Scenario,
    ScenarioPost,
)

__all__ = [
    "CW_PREFIX",
    "EVENT_START",
    "FEATURES",
    "HASHTAGS",
    "INSTANCES",
    "OFFTOPIC_PREFIX",
    "ORGANISERS_HANDLE",
    "PLAYLIST_ID",
    "PROGRAMME",
    "RUDE_PREFIX",
    "SPAM_PREFIX",
    "YOUTUBE_CHANNEL",
    "Session",
    "coproduction_day",
    "expected_catch_reasons",
    "expected_caught",
    "fast_anchor",
    "session_at",
]

SEED = "coproduction-day-2014"
EVENT_START = datetime(2014, 4, 23, 8, 0, tzinfo=UTC)  # 09:00 in Edinburgh (BST)
HASHTAGS = ("coprodscot", "coproduction")
YOUTUBE_CHANNEL = "UCsandboxCoproduction0001"  # the organisers' channel (demo.toml's channel_id)
PLAYLIST_ID = "PLsandboxCoproductionDay2014"
ORGANISERS_HANDLE = "organisers"  # X / Bluesky organisers.bsky.social / Mastodon organisers@a.sandbox.test
INSTANCES = (InstanceSpec("a", domain="a.sandbox.test"), InstanceSpec("b", domain="b.sandbox.test"))

SPAM_PREFIX = "spam-"
RUDE_PREFIX = "rude-"
CW_PREFIX = "cw-"
OFFTOPIC_PREFIX = "offtopic-"


@dataclass(frozen=True, slots=True)
class Session:
    key: str
    title: str  # as in config/demo.toml
    start: float  # offset from 09:00, seconds
    end: float
    kind: str
    room: str = ""


PROGRAMME: tuple[Session, ...] = (
    Session("registration", "Registration and coffee", 0, 2700, "break", "Foyer"),
    Session("welcome", "Welcome and opening remarks", 2700, 6300, "talk", "Main hall"),
    Session("morning", "Morning workshops", 7200, 12600, "workshop"),
    Session("lunch", "Lunch", 12600, 16200, "break"),
    Session("afternoon", "Afternoon workshops and open space", 16200, 22500, "open_space"),
    Session("together", "Bringing it all together", 22500, 27000, "talk", "Main hall"),
)

# Moments inside the programme (offsets): who speaks when.
_CHAIR = (2700.0, 3300.0)
_CLLR = (3300.0, 4300.0)
_PROF = (4300.0, 5200.0)
_LABELS = (5200.0, 6300.0)
_BREAK = (6300.0, 7200.0)
_AFTER = (27000.0, 31500.0)


def session_at(offset: float) -> Session | None:
    """The programme session running `offset` seconds after 09:00 (None in breaks between them)."""
    for s in PROGRAMME:
        if s.start <= offset < s.end:
            return s
    return None


def fast_anchor() -> datetime:
    """The `start` that dates a fast-mode sandbox's posts on the day (its newest post is at the anchor)."""
    return EVENT_START + timedelta(seconds=max(p.at for p in coproduction_day().posts))


# ---------------------------------------------------------------- people (all fictional)

_SPEAKERS = (
    Person("isla", "Isla Cairnduff", handle="IslaCairnduff", mastodon_instance="a"),
    Person("maeve", "Cllr Maeve Ogunleye", handle="CllrOgunleye", mastodon_instance="a"),
    Person("ravi", "Prof Ravi Anand-Lowe", handle="ProfAnandLowe", mastodon_instance="b"),
    Person("callum", "Callum Ferrie", handle="callumferrie", mastodon_instance="b"),
    Person("priya", "Priya Lindqvist", handle="priyalindqvist", mastodon_instance="a"),
    Person("juno", "Juno Maclaren ✏️", handle="junodraws", mastodon_instance="b"),
    Person("tam", "Tam Greig", handle="tamgreig", mastodon_instance="b"),
)
_ORGANISERS = Person("organisers", "Shared Ground Co-production Network", handle=ORGANISERS_HANDLE,
                     mastodon_instance="a", youtube_channel=YOUTUBE_CHANNEL)
_REPORTER = Person("bea", "Bea Okafor-Lindsay 📷 social reporter", handle="bea_reports", mastodon_instance="b")

# key, display name, handle, home instance, platforms they post on (weights x/mastodon/bluesky), activity
_DELEGATE_ROWS: tuple[tuple[str, str, str, str, tuple[int, int, int], int], ...] = (
    ("hamish", "Hamish Tolmie", "hamishtolmie", "a", (6, 1, 0), 3),
    ("aileen", "Aileen Mackie", "aileen_mackie", "a", (4, 2, 2), 3),
    ("dougie", "Dougie Rennick", "dougierennick", "b", (5, 0, 1), 2),
    ("shona", "Shona Baird-Kerr", "shonabk", "a", (2, 5, 1), 3),
    ("kwame", "Kwame Asante-Ross", "kwameasross", "b", (3, 3, 3), 3),
    ("morven", "Morven Lauder", "morvenlauder", "a", (5, 1, 2), 2),
    ("fraser", "Fraser Quigley", "fraserq", "b", (6, 0, 0), 2),
    ("eilidh", "Eilidh Strachan", "eilidhstrachan", "a", (1, 4, 3), 3),
    ("gregor", "Gregor Dalgleish", "gregordalgleish", "b", (4, 3, 0), 2),
    ("rhona", "Rhona Pettigrew", "rhonapettigrew", "a", (5, 0, 3), 2),
    ("niamh", "Niamh Costello", "niamhcostello", "b", (2, 2, 5), 3),
    ("lachlan", "Lachlan Moffat", "lachlanmoffat", "a", (4, 2, 1), 2),
    ("catriona", "Catriona Fyfe", "catrionafyfe", "b", (3, 4, 1), 2),
    ("ewan", "Ewan Buchanan-Hay", "ewanbh", "a", (5, 1, 1), 2),
    ("jasmine", "Jasmine Achterberg", "jasachterberg", "b", (1, 2, 6), 3),
    ("ruaridh", "Ruaridh Gillanders", "ruaridhg", "a", (3, 3, 0), 1),
    ("kirsty", "Kirsty Ballantyne", "kirstyballantyne", "b", (6, 1, 2), 3),
    ("tomasz", "Tomasz Wrzesiński", "tomaszwrz", "a", (3, 1, 2), 1),
    ("agnieszka", "Agnieszka Wrona", "agawrona", "b", (2, 3, 2), 2),
    ("yasmin", "ياسمين حداد | Yasmin Haddad", "yasminhaddad", "a", (2, 2, 3), 2),
    ("farah", "Farah Qureshi فرح", "farahqureshi", "b", (3, 1, 2), 2),
    ("morag", "Mòrag NicLeòid", "moragnicleoid", "a", (2, 3, 1), 2),
    ("sandy", "Sandy Kinloch", "sandykinloch", "b", (5, 0, 0), 1),
    ("bryony", "Bryony Aitchison", "bryonyaitch", "a", (2, 4, 2), 2),
    ("olu", "Olu Adeyemi-Grant", "oluadeyemigrant", "b", (4, 2, 2), 2),
    ("heather", "Heather Guthrie", "heatherguthrie", "a", (6, 1, 1), 2),
    ("callan", "Callan Rafferty", "callanrafferty", "b", (3, 3, 3), 2),
    ("mairi", "Mairi Sinclair-Webb", "mairisw", "a", (4, 2, 0), 2),
    ("duncan", "Duncan Oyelaran", "duncanoyelaran", "b", (5, 1, 1), 1),
    ("lorna", "Lorna McCulloch", "lornamcc", "a", (3, 3, 2), 2),
    ("stevie", "Stevie Bain", "steviebain", "b", (6, 0, 1), 2),
    ("imogen", "Imogen Thorburn", "imogenthorburn", "a", (1, 3, 4), 2),
    ("arjun", "Arjun Mehta-Scott", "arjunms", "b", (4, 1, 3), 2),
    ("fiona_r", "Fi Rattray", "firattray", "a", (4, 2, 2), 2),
    ("wullie", "Wullie Cowan", "wulliecowan", "b", (5, 0, 0), 1),
    ("hannah", "Hannah Oduya", "hannahoduya", "a", (3, 2, 3), 2),
)
_DELEGATE_ORGS: dict[str, str] = {
    "hamish": "Lowland Community Network", "aileen": "Firth Carers Collective",
    "dougie": "Glenmorven Housing Co-op", "shona": "Northbank Health and Social Care Partnership",
    "kwame": "Eastgate Recovery Café", "morven": "Kelpie Youth Forum", "fraser": "Strathbeck Council",
    "eilidh": "Machair Time Bank", "gregor": "Cauldstane Men's Shed", "rhona": "Lowland Community Network",
    "niamh": "Riverside Peer Support", "lachlan": "Strathbeck Council", "catriona": "Bramble Lane Carers Centre",
    "ewan": "Joint Care Partnership Board", "jasmine": "Open Doors Disability Forum",
    "ruaridh": "Glenmorven Housing Co-op", "kirsty": "Northbank Health and Social Care Partnership",
    "tomasz": "Polish Families Link", "agnieszka": "Polish Families Link", "yasmin": "New Neighbours Welcome Hub",
    "farah": "Hillside Women's Health Circle", "morag": "Comann nan Eilean (island health forum)",
    "sandy": "Cauldstane Men's Shed", "bryony": "Kelpie Youth Forum", "olu": "Eastgate Recovery Café",
    "heather": "Firth Carers Collective", "callan": "Skilled Hands, Skilled Neighbours",
    "mairi": "Bramble Lane Carers Centre", "duncan": "Joint Care Partnership Board",
    "lorna": "Machair Time Bank", "stevie": "Riverside Peer Support", "imogen": "Open Doors Disability Forum",
    "arjun": "Hillside GP practice", "fiona_r": "Lowland Community Network", "wullie": "Cauldstane Men's Shed",
    "hannah": "New Neighbours Welcome Hub",
}

_OFFTOPIC_PEOPLE = (
    Person("ines", "Inês Valadares", handle="inesvaladares_film", mastodon_instance="b"),
    Person("docsforum", "Tagus Docs Co-Pro Forum", handle="tagusdocsforum", mastodon_instance="b"),
    Person("marcantoine", "Marc-Antoine Royer", handle="marcantoineroyer", mastodon_instance="a"),
)
_SPAM_PEOPLE = (
    Person("luckyspins", "Lucky Spins 🎰", handle="luckyspins_777", bot=True, mastodon_instance="b"),
    Person("airdrop", "Airdrop Alerts 🚀", handle="airdrop_alerts_24", bot=True, mastodon_instance="a"),
)
_GRUMPY = Person("grumpycitizen", "Grumpy Citizen", handle="grumpy_citizen_", mastodon_instance="b")

# ---------------------------------------------------------------- programme content

_MORNING_WS = (
    ("Mapping what's strong, not what's wrong: asset-based approaches in practice", "Braid Room"),
    ("From consultation to co-design: community capacity building", "Canongate Room"),
    ("People-powered health: peer support in recovery", "Cramond Room"),
    ("Time banking and reciprocity", "Meadows Room"),
    ("Co-producing with young people", "Pentland Room"),
    ("Soft outcomes, not hard targets: measuring what matters", "Holyrood Room"),
)
_AFTERNOON_WS = (
    ("Integration and co-production: planning with communities", "Braid Room"),
    ("Tenant-led design in housing co-ops", "Canongate Room"),
    ("Skilled Hands, Skilled Neighbours: workforce development", "Cramond Room"),
    ("Sharing power in commissioning", "Holyrood Room"),
)
_OPEN_SPACE = (
    "How do we get senior managers in the room, and keep them there?",
    "Co-production in rural and island communities",
    "Paying people for their time: does it change the relationship?",
    "What happens when the pilot funding ends?",
    "Language matters: service users or people?",
    "Digital inclusion and co-production",
    "Co-production with people who don't come to meetings",
    "Can a council be a good neighbour?",
)
_CHAIR_QS = (
    "do we actually mean the same thing when we say co-production?",
    "what has really changed in how we work since last year?",
    "how do we go beyond 'involvement' and share power?",
)
_CLLR_LINES = (
    "Co-production isn't an add-on to policy, it's how policy should be made",
    "Prevention means investing in people and places, not just services",
    "Integration will only work if communities are at the planning table, not consulted after the fact",
    "Carers and the third sector are partners, not a cheap alternative",
    "We have to change the culture, not just the legislation",
    "The people who use services are the experts in their own lives",
)
_PROF_LINES = (
    "we're close to the tipping point where co-production is simply how things are done",
    "the network has grown to more than 600 members in a year",
    "the best practice isn't in strategy documents, it's in this room",
    "the change fund showed what's possible when we let local people lead",
    "asset-based workforce development is starting to change how staff see their jobs",
)
_CONTRIBUTE = (
    "twenty years of being a carer", "a kettle and a community hall that's free on Tuesdays",
    "stories from our men's shed", "how we set up a time bank with no budget", "lived experience of recovery",
    "a youth forum that's keen to get involved", "a GP practice that wants to try social prescribing",
    "data skills and a love of spreadsheets", "translation into Polish", "a network of island health groups",
    "what went wrong in our first attempt (so you don't repeat it)", "a budget holder's perspective",
    "patience", "tenant-led design experience", "connections to every faith group in our town",
    "honest feedback", "a peer support model that actually works", "my camera and a listening ear",
    "ten years of community development", "a commissioner who's ready to be challenged",
)
_QUESTIONS = (
    "how do we co-produce when the budget is being cut?",
    "who isn't in this room, and why not?",
    "how do you evaluate co-production without killing it?",
    "what does co-production look like in a crisis service?",
    "how do we pay people fairly for their time?",
    "how do we get our chief executive to come next year?",
    "is co-production possible with statutory duties?",
    "how do you keep going when the pilot ends?",
    "what would you stop doing to make room for this?",
    "how do young people lead, not just attend?",
    "how do we share power when we hold the money?",
    "can co-production work across a whole council?",
    "what is the one thing that made it work for you?",
    "how do we make this the way things are done, not a project?",
)

# ---------------------------------------------------------------- text pools
#
# {cllr} {prof} {chair} {callum} {juno} {priya} {bea}: "@key" mentions (each platform renders its own handle);
# {Cllr} {Prof} {Chair}: plain names; {ws} {room}: a workshop of the session; {topic}: an open-space topic;
# {org}: an organisation; {q}: one of the chair's questions; {line}: a line from the current speaker.

_ARRIVALS = (
    "On the train to Edinburgh for the national co-production conference. Coffee in hand ☕",
    "Registration desk is buzzing already. Lanyard acquired.",
    "Just arrived at Pollock Halls. Lovely morning for it, the hill is out 🏔️",
    "Really looking forward to today. Last year's conference changed how our team works.",
    "Here with colleagues from {org}. Come and say hello, we're near the tea urn!",
    "Over 200 people registered for today, brilliant to see so many familiar faces",
    "Anyone from the island groups here yet? Grabbing a table near the window",
    "Exhibition stands going up in the foyer, lots of great projects on show",
    "First time at this conference, a bit nervous but excited. Any tips?",
    "Three buses and a long walk but made it. Tea first, networking second",
    "Programme looks great: workshops on asset-based approaches, time banking and open space this afternoon",
    "Spotted the graphic facilitators setting up their giant paper wall. This is going to be good ✏️",
    "So good to see people who use services here as delegates, not just as case studies",
    "Name badge says 'Ask me about our time bank'. Consider yourselves warned",
    "Catching up with old friends from {org} over scones. Conferences are 50% corridor",
    "Parked, registered, caffeinated. Ready for #coprodscot",
    "Our stand is up! Come and find {org} in the foyer",
    "The queue for coffee is the best networking opportunity of the day",
    "Left the house at 6 to be here. Worth it for the people alone",
    "Doing the live tweeting for our team today, apologies in advance to my followers",
    "The foyer is full of people talking about co-production and it's not even 9.30 yet",
    "Picked up the programme: so many workshops, so little time. Open space it is",
    "Good morning from Edinburgh! Who else is at the co-production conference today? 👋",
    "Bus full of delegates from the west, singing optional",
)
_CHAIR_POOL = (
    "{chair} opens the conference: this programme was designed with network members, not for them",
    "Three questions from {chair} to carry through the day. First: {q}",
    "'{Q}' Great question from {chair} to start us off",
    "{chair} asks us to hold three questions all day. Mine to take home: {q}",
    "Chair {Chair} reminds us that the workshops, exhibits and open space all came from network members 👏",
    "Welcome from {chair}: sharing our strengths, stretching our vision. Love that as a theme",
    "Packed main hall for the welcome. {chair} setting a warm and challenging tone",
    "'We've come a long way, but involvement isn't the finish line' says {chair}",
    "{chair}: {q} Honestly, I'm not sure we do yet",
    "Opening remarks: the conference was shaped by a huge response from network members",
    "Loving that {chair} started with questions rather than answers",
    "Second of {chair}'s questions: {q}",
    "The chair's three questions are on the screen. Writing them on my hand so I don't forget",
    "Day starts with {chair} thanking everyone who helped design it, including people who use services",
)
_CLLR_POOL = (
    "{cllr}: '{line}' 👏",
    "'{line}' says {Cllr}",
    "Strong opening from {cllr}. '{line}'",
    "{Cllr} on integration: communities must be part of planning and decision making",
    "{cllr} launches the 'Places to go, people to see' active later life plan",
    "Interesting from {cllr}: the active later life plan is about reducing loneliness as much as health",
    "'{line}' Can we hold the council to this? (said with love)",
    "Good to hear a politician say carers are partners. Now for the funding to match",
    "{cllr} on the change fund: preventative care only works with the third sector involved",
    "The new joint working act came up. Culture change matters more than structures, says {cllr}",
    "{Cllr}: '{line}' Music to my ears",
    "Quite a few nods around the room when {cllr} said '{line}'",
    "Scribbling notes as fast as I can. '{line}'",
    "{cllr} gets a round of applause for that one",
    "Policy context from {cllr}: co-production and community capacity building at the heart of it",
    "I'd love to know how '{line}' translates into budgets. Maybe a question for open space",
)
_PROF_POOL = (
    "{prof}: '{line}'",
    "'{line}' {Prof} reflecting on the year so far",
    "{prof} says {line}. Feels true in our area",
    "Great examples from {prof} of local initiatives supported through the change fund",
    "{prof} shouts out the peer support and people-powered health work 👏",
    "Is it really a tipping point? {prof} thinks so. Our team is still pushing the boulder uphill 😅",
    "'{line}' Lovely recognition for everyone in the room",
    "{Prof} on asset-based workforce development: start with what staff and citizens already bring",
    "The network has grown so much. Remember when it was twelve of us in a church hall?",
    "{prof}: looking forward to hearing about the work in the room today. So are we!",
    "Really practical talk from {prof}, less strategy, more stories",
    "Love '{line}'. Putting that on a slide for our board",
)
_LABELS_POOL = (
    "One thing I can contribute: {contrib}. One question I want to ask: {question}",
    "My label says: contribute {contrib}. Ask {question}",
    "{callum} asks everyone to write one thing to contribute and one question to ask. Mine: {question}",
    "Label time! I wrote '{contrib}' on mine 🏷️",
    "Wall of labels is filling up fast. Favourite so far: '{question}'",
    "One thing to contribute, one question to ask. Such a simple way to start conversations",
    "Reading the labels wall: someone is offering '{contrib}'. Brilliant",
    "My one question today: {question}",
    "Label says I can contribute {contrib}. Come and find me!",
    "Great idea from {callum}: labels on, conversations started. '{question}' is the one on my badge",
    "The labels wall is a snapshot of the whole network: {contrib}, {contrib2}, and so much more",
    "Stuck my label on the wall next to one asking '{question}'. Going to find that person at lunch",
    "Love that {priya} is collecting the labels to share after. So much wisdom on that wall",
    "Question I keep seeing on the labels: '{question}' We need to talk about this",
)
_BREAK_POOL = (
    "Coffee break and the labels wall is the place to be",
    "Found three people with the same question as me on the labels wall. Instant workshop",
    "Tea, shortbread and a proper conversation about {topic_l}",
    "The exhibits in the foyer are great. {org} have a brilliant stand",
    "Five minutes to get to my workshop. Which way is the {room}?",
    "Shortbread count: 2. Useful conversations: 4. Good morning so far",
)
_WORKSHOP_POOL = (
    "In '{ws}' in the {room}. Full room!",
    "Workshop: {ws}. Starting with what's strong in our communities rather than what's wrong",
    "Great discussion in '{ws}'. Small groups, big ideas",
    "'{ws}': hearing from {org} about what they learned the hard way",
    "Loving the energy in the {room}. '{ws}' is properly interactive",
    "Key message from '{ws}': start with relationships, the rest follows",
    "Mapping the assets in our street with post-its. Turns out we have a lot",
    "Asset-based approach in one line: ask what people can do, not what's the matter with them",
    "In the {room} hearing how {org} co-designed their service with the people who use it",
    "Facilitator in '{ws}' just said 'nothing about us without us' and the room applauded",
    "Time banking: an hour is an hour, whoever gives it. Simple and radical",
    "'{ws}' is the best workshop I've been to in ages. Practical, honest, funny",
    "Young people from {org} running the workshop themselves. This is what co-production looks like",
    "Slides from '{ws}' will be shared on the network site, I'm told",
    "The peer support workshop is making me rethink how we design our drop-in",
    "'Soft outcomes' aren't soft at all. They're what people actually care about",
    "Someone in '{ws}' asked how to measure trust. Silence, then a great conversation",
    "Community capacity building isn't a course, it's a way of working. Good reminder in the {room}",
    "Wish I could be in two workshops at once. Anyone in '{ws}'? What's happening?",
    "Lots of honest talk about failure in '{ws}'. Refreshing",
    "Three things from '{ws}': listen first, share power, don't rush",
    "Just learned about a men's shed that redesigned its local bus route. Amazing",
    "The {room} is too warm but the conversation is great 🔥",
    "Co-production is slower at the start and faster at the end. Quote of the workshop",
    "Tip from '{ws}': pay for people's travel and childcare up front, not weeks later",
    "Great to hear carers from {org} talking about being partners in planning",
    "'Who holds the pen?' Simple question that changes a whole meeting",
    "Our group's answer to '{question}': start small and invite the awkward people",
    "Drew a map of everyone our project relies on. It's much bigger than the org chart",
    "This workshop should be compulsory for every commissioner",
)
_LUNCH_POOL = (
    "Lunch! And a chance to find the people whose labels I liked",
    "Great lunch conversation with folks from {org} about {topic_l}",
    "Soup, sandwiches and a spirited debate about paying people for their time",
    "Lunchtime exhibits tour: {org} have brought a model of their community garden 🌱",
    "Half the room is outside in the sun. Co-production al fresco",
    "Lunch queue chat: turns out we both run time banks 200 miles apart",
    "Brilliant morning. Brain full, plate full",
    "Anyone want to join a lunchtime walk round the gardens? Meeting by the front door",
    "Over lunch: the open space board is filling up with topics for this afternoon",
    "Catching my breath after a great morning. Favourite moment so far: the labels wall",
    "Delegates' lunch tables have become mini open space sessions already",
    "Study visit group back from the community café, full of ideas",
    "Picked up so many leaflets at the exhibits. My bag weighs a ton",
)
_AFTERNOON_POOL = (
    "Open space marketplace: {n} topics proposed by delegates in ten minutes",
    "Open space: '{topic}'. Whoever comes are the right people",
    "Law of two feet in action: moved from one open space group to another and nobody minded",
    "In the open space on '{topic}'. Brilliant, honest conversation",
    "Afternoon workshop: {ws}. Packed room again",
    "'{ws}' in the {room}: hearing how tenants redesigned their own homes",
    "Open space on '{topic}' has become the most popular group in the building",
    "Someone just proposed an open space on '{topic}'. Yes please",
    "Integration workshop: communities need to be in at the start, not signing off at the end",
    "Workforce development with an asset-based lens: what do staff bring from their own lives?",
    "Sharing power in commissioning: 'the budget is where the power is'. Quite",
    "Great open space on '{topic}'. Three of us agreed to meet again next month",
    "The open space notes wall is covered in post-its already",
    "Our open space group on '{topic}' is sitting in a circle on the grass. Very co-produced",
    "Really good challenge in '{ws}' about who gets to define 'success'",
    "Afternoon energy dip cured by a heated debate about '{topic}'",
    "Conversation in the {room}: co-production needs time, trust and a bit of money",
    "Open space host: 'whatever happens is the only thing that could have'. Love it",
    "Island groups comparing notes on '{topic}'. So much in common with the city folk",
    "Hearing from {org} about co-designing their commissioning process. Game changer",
    "Loving the open space format, no slides, no panels, just people",
    "'Co-production with people who don't come to meetings' is the question of the afternoon",
    "Heard the best description of co-production yet: 'doing with, not doing to or doing for'",
    "Someone in open space just said 'a council can be a good neighbour'. Writing that down",
)
_TOGETHER_POOL = (
    "Back in the main hall to bring it all together",
    "Reflections from the room: co-production has to reach beyond public services into the wider economy",
    "Delegate comment: it's about relationships, at a personal level and across boundaries",
    "'How do we make this the way things are done, not a project?' The question of the day",
    "The graphic facilitation wall is incredible. A whole day of conversations in one picture ✏️",
    "{juno} walks us through the graphic: gifts people bring, soft outcomes, sharing power",
    "Personal stories as a way of sharing power. Lovely reflection from {juno}",
    "The 'gifts' people bring to a process: my favourite theme of the day",
    "Social reporter {bea} shares what she's seen and heard today 📷",
    "Final reflections: the political landscape is changing, and co-production has to keep up",
    "Soft outcomes, not hard targets: the theme that came up in every workshop",
    "Looking at the graphic wall I can see our open space conversation on it! 😍",
    "So many people taking photos of the graphic wall. Including me",
    "Closing reflections from {chair}: sharing our strengths, stretching our vision. We did both",
    "Thank you to everyone who organised today. It felt co-produced from start to finish",
    "'Less involvement, more partnership' sums up the day for me",
    "The wall chart captured the labels, the workshops and open space. Incredible work by {juno} and {tam}",
    "Ending the day with a room full of people committed to doing things differently",
    "A round of applause for the graphic facilitators, who listened to every room at once 👏",
    "Room reflection: we need to think about the role of the state, not just services",
    "Three words from the closing session: relationships, courage, time",
    "Favourite quote from the wrap-up: 'co-production is core to how we get things done, or it's nothing'",
)
_AFTER_POOL = (
    "Home from the conference. Tired but so inspired. Thank you all",
    "On the train home writing up my notes. Full of ideas for our team",
    "What a day. Already looking forward to the next one",
    "Best conference I've been to in years. Honest, practical and warm",
    "Three new contacts, two invitations to visit, one very full notebook",
    "Reading back through the tweets from today. So much I missed in the other workshops",
    "Shared the graphic wall photo with our board already. They loved it",
    "Thanks to {bea} for the brilliant social reporting all day 📷",
    "Going to start our next team meeting with 'one thing to contribute, one question to ask'",
    "Tomorrow I'm going to ask our commissioners: who holds the pen?",
)
_REPLIES = (
    "Totally agree, this was the bit that stuck with me too",
    "Yes! We've been trying this for a year, happy to share what we learned",
    "Same experience in our area. Let's talk at the break?",
    "Great point. Did they say where the slides will be?",
    "Couldn't make that one, thanks for sharing 🙏",
    "This! Exactly this",
    "I'm in the same room, come and find us at the front",
    "Love this. Would you be up for a chat after?",
    "Hmm, I'm not so sure. Depends who holds the budget, doesn't it?",
    "Thank you, really helpful summary",
    "So true. Relationships first",
    "Good question. Open space topic this afternoon?",
)
_QUOTES = (
    "This 👇",
    "Worth reading if you're not here today",
    "The key point of the morning for me",
    "Exactly what we heard in our workshop too",
    "If you only read one post from today's conference",
)
_OPENERS = (
    "Honestly: ", "Still thinking about this. ", "Yes. ", "Noted for our team meeting: ", "Key point: ",
    "Worth repeating: ", "From our table: ", "Hearing this all over the building: ", "Can confirm: ", "So true. ",
)
_CLOSERS = (
    " 👏", " 🙌", " Thoughts?", " More of this please.", " 💡", " So much to take home.", " Brilliant.",
    " Yes yes yes.", " 💚", " Writing that one down.",
)
_ALT: dict[str, tuple[str, ...]] = {
    "hall": ("Delegates in rows in the main hall facing the stage", "The main hall filling up before the welcome",
             "A full main hall listening to the opening remarks"),
    "stage": ("The chair speaking at the lectern with slides behind", "A speaker at the lectern",
              "Speaker on stage with the conference slide"),
    "workshop": ("Delegates around a workshop table covered in notes", "A small group talking around a table",
                 "Flipchart and a workshop table with post-its"),
    "labels": ("The wall of 'one thing to contribute, one question to ask' labels",
               "Dozens of coloured labels stuck on a board", "Close-up of the labels wall"),
    "wallchart": ("The graphic facilitation wall chart in progress", "A graphic facilitator drawing on a paper wall",
                  "The finished graphic recording of the day"),
    "coffee": ("Queue at the coffee urns in the foyer", "Delegates chatting over coffee",
               "Busy foyer at registration"),
    "openspace": ("An open space group sitting in a circle", "The open space topics board",
                  "A circle of chairs for an open space discussion"),
    "portrait": ("A delegate being interviewed", "Head and shoulders of a delegate smiling",
                 "Interview in the corridor"),
    "group": ("Group photo of a team of delegates", "A study visit group",
              "Delegates from one network posing together"),
    "lunch": ("Lunch tables in the dining hall", "Delegates at lunch", "A busy lunch table"),
}


# ---------------------------------------------------------------- the builder


class _Builder:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.posts: list[ScenarioPost] = []
        self.counters: dict[str, int] = {}
        self.delegates = [
            Person(k, n, handle=h, mastodon_instance=i) for k, n, h, i, _w, _a in _DELEGATE_ROWS
        ]
        self.platform_weights = {k: w for k, _n, _h, _i, w, _a in _DELEGATE_ROWS}
        self.activity = [a for *_rest, a in _DELEGATE_ROWS]
        self.home = {p.key: p.mastodon_instance for p in self.all_people()}
        self.cycles: dict[int, list[str]] = {}
        self.photo_n = 0
        self.used_texts: set[str] = set()

    def all_people(self) -> tuple[Person, ...]:
        return (*_SPEAKERS, _ORGANISERS, _REPORTER, *self.delegates, *_OFFTOPIC_PEOPLE, *_SPAM_PEOPLE, _GRUMPY)

    # ------------------------------------------------------------ helpers

    def new_id(self, platform: str) -> str:
        n = self.counters.get(platform, 0) + 1
        self.counters[platform] = n
        return f"{platform}-{n:03d}"

    def add(self, post: ScenarioPost) -> ScenarioPost:
        self.posts.append(post)
        return post

    def tags(self) -> tuple[str, ...]:
        r = self.rng.random()
        if r < 0.58:
            return ("coprodscot",)
        if r < 0.85:
            return ("coprodscot", "coproduction")
        return ("coproduction",)

    def draw(self, pool: tuple[str, ...]) -> str:
        """Templates without replacement (reshuffled when a pool runs out), so repeats are rare."""
        queue = self.cycles.setdefault(id(pool), [])
        if not queue:
            queue.extend(pool)
            self.rng.shuffle(queue)
        return queue.pop()

    def delegate(self) -> Person:
        return self.rng.choices(self.delegates, weights=self.activity)[0]

    def platform_of(self, person: Person) -> PlatformName:
        weights = self.platform_weights.get(person.key, (5, 3, 3))
        choice: PlatformName = self.rng.choices(("x", "mastodon", "bluesky"), weights=weights)[0]
        return choice

    def photo(self, kind: str, alt: str | None = None, seed: str | None = None) -> MediaSpec:
        self.photo_n += 1
        return MediaSpec("photo", alt or self.rng.choice(_ALT[kind]), seed=seed or f"evt:{kind}:{self.photo_n:03d}",
                         width=1024, height=768)

    def video(self, kind: str, alt: str, seed: str, duration: float = 45.0) -> MediaSpec:
        return MediaSpec("video", alt, seed=seed or f"evt:{kind}:v", width=1280, height=720, duration=duration)

    def instances_for(self, person: Person, share: float = 0.45) -> tuple[str, ...]:
        if self.rng.random() < share:
            return ("a", "b") if person.mastodon_instance == "a" else ("b", "a")
        return ()

    def fill(self, template: str, moment: str, at: float) -> str:
        rng = self.rng
        ws_list = _MORNING_WS if at < 14000 else _AFTERNOON_WS
        ws, room = rng.choice(ws_list)
        line = rng.choice(_CLLR_LINES if moment == "cllr" else _PROF_LINES)
        q = rng.choice(_CHAIR_QS)
        topic = rng.choice(_OPEN_SPACE)
        c1, c2 = rng.sample(_CONTRIBUTE, 2)
        values = {
            "cllr": "@maeve", "prof": "@ravi", "chair": "@isla", "callum": "@callum", "juno": "@juno",
            "priya": "@priya", "bea": "@bea", "tam": "@tam",
            "Cllr": "Cllr Ogunleye", "Prof": "Prof Anand-Lowe", "Chair": "Isla Cairnduff",
            "ws": ws, "room": room, "topic": topic, "topic_l": topic[0].lower() + topic[1:].rstrip("?"),
            "org": rng.choice(sorted(set(_DELEGATE_ORGS.values()))), "q": q, "Q": q[0].upper() + q[1:],
            "line": line, "contrib": c1, "contrib2": c2, "question": rng.choice(_QUESTIONS),
            "n": str(rng.randint(14, 23)),
        }
        return template.format(**values)

    def fresh(self, pool: tuple[str, ...], moment: str, at: float) -> str:
        """A filled template not used before (decorated with an opener or closer when the pool runs dry)."""
        text = ""
        for _ in range(4):
            text = self.fill(self.draw(pool), moment, at)
            if text not in self.used_texts:
                break
        while text in self.used_texts:
            if self.rng.random() < 0.5:
                text = self.rng.choice(_OPENERS) + text[0].lower() + text[1:] if text[0] != "@" else (
                    self.rng.choice(_OPENERS) + text)
            else:
                text = text.rstrip(".") + self.rng.choice(_CLOSERS)
        self.used_texts.add(text)
        return text

    def recent(self, platform: str, before: float, within: float, exclude: str) -> ScenarioPost | None:
        """A recent original post on the platform (for replies, quotes and reposts)."""
        cands = [
            p for p in self.posts
            if p.platform == platform and p.repost_of is None and before - within <= p.at < before - 5
            and p.author != exclude and not p.id.startswith(("spam-", "rude-", "offtopic-", "cw-", "deleted-"))
            and p.deleted_at is None
        ]
        return self.rng.choice(cands) if cands else None

    # ------------------------------------------------------------ chatter

    def times(self, start: float, end: float, n: int, peaks: tuple[float, ...] = ()) -> list[float]:
        """n offsets in [start, end): a background plus bursts just after each peak."""
        out: list[float] = []
        for _ in range(n):
            if peaks and self.rng.random() < 0.55:
                peak = self.rng.choice(peaks)
                t = peak + self.rng.expovariate(1 / 240)
            else:
                t = self.rng.uniform(start, end)
            out.append(round(min(max(t, start), end - 1), 1))
        return sorted(out)

    def chatter(
        self, start: float, end: float, n: int, pool: tuple[str, ...], moment: str,
        peaks: tuple[float, ...] = (), scenes: tuple[str, ...] = (), photo_share: float = 0.12,
    ) -> None:
        rng = self.rng
        for at in self.times(start, end, n, peaks):
            person = self.delegate()
            platform = self.platform_of(person)
            reply_to = quote_of = None
            text = ""
            roll = rng.random()
            if roll < 0.12:
                target = self.recent(platform, at, 1800, person.key)
                if target is not None:
                    reply_to = target.id
                    text = f"@{target.author} {self.draw(_REPLIES)}"
            elif roll < 0.16 and platform != "mastodon":
                target = self.recent(platform, at, 2400, person.key)
                if target is not None:
                    quote_of = target.id
                    text = self.draw(_QUOTES)
            if reply_to is None and quote_of is None:
                text = self.fresh(pool, moment, at)
            media: tuple[MediaSpec, ...] = ()
            if scenes and reply_to is None and rng.random() < photo_share:
                media = (self.photo(rng.choice(scenes)),)
            self.add(ScenarioPost(
                self.new_id(platform), at, platform, person.key, text, hashtags=self.tags(), media=media,
                reply_to=reply_to, quote_of=quote_of,
                instances=self.instances_for(person) if platform == "mastodon" else (),
                likes=rng.randint(0, 12),
            ))

    def reposts(self, start: float, end: float, n: int) -> None:
        """Retweets, boosts and Bluesky reposts of earlier posts, by delegates."""
        for at in self.times(start, end, n):
            person = self.delegate()
            platform = self.platform_of(person)
            target = self.recent(platform, at, 3600, person.key)
            if target is None:
                continue
            prefix = {"x": "x-rt", "mastodon": "mastodon-boost", "bluesky": "bluesky-repost"}[platform]
            self.add(ScenarioPost(self.new_id(prefix), at, platform, person.key, repost_of=target.id))


# ---------------------------------------------------------------- the day


def _build() -> Scenario:
    b = _Builder()
    # Chatter by moment: (start, end, count, pool, moment, peaks, photo scenes)
    b.chatter(0, 2700, 30, _ARRIVALS, "arrive", (1200.0, 2100.0), ("coffee", "hall", "group"), 0.2)
    b.chatter(*_CHAIR, 24, _CHAIR_POOL, "chair", (2720.0,), ("stage", "hall"))
    b.chatter(*_CLLR, 40, _CLLR_POOL, "cllr", (3320.0, 3700.0, 4000.0), ("stage", "hall"))
    b.chatter(*_PROF, 32, _PROF_POOL, "prof", (4320.0, 4700.0), ("stage",))
    b.chatter(*_LABELS, 42, _LABELS_POOL, "labels", (5250.0, 5800.0), ("labels",), 0.25)
    b.chatter(*_BREAK, 10, _BREAK_POOL, "break", (6400.0,), ("coffee", "labels"))
    b.chatter(7200, 12600, 56, _WORKSHOP_POOL, "workshop", (7300.0, 9500.0, 12300.0), ("workshop",), 0.14)
    b.chatter(12600, 16200, 22, _LUNCH_POOL, "lunch", (12700.0,), ("lunch", "openspace", "group"), 0.2)
    b.chatter(16200, 22500, 56, _AFTERNOON_POOL, "afternoon", (16300.0, 17000.0, 20000.0),
              ("openspace", "workshop"), 0.15)
    b.chatter(22500, 27000, 42, _TOGETHER_POOL, "together", (22600.0, 24000.0, 25600.0),
              ("wallchart", "hall", "stage"), 0.2)
    b.chatter(*_AFTER, 14, _AFTER_POOL, "after", (27200.0,), ("group",), 0.1)

    _speakers_and_organisers(b)
    _reporter(b)
    _features(b)
    _offtopic_spam_rude(b)

    # Ordinary reposts through the day (after the originals exist).
    b.reposts(600, 31000, 36)

    # Sorting by offset keeps every reference pointing at an earlier post.
    posts = sorted(b.posts, key=lambda p: p.at)
    return Scenario(
        name="Sharing Our Strengths, Stretching Our Vision: national co-production conference (sandbox)",
        hashtags=HASHTAGS,
        people=b.all_people(),
        posts=tuple(posts),
        instances=INSTANCES,
        feed_titles={"blog": "Shared Ground Co-production Network blog"},
    )


def _speakers_and_organisers(b: _Builder) -> None:
    add = b.add
    tags = ("coprodscot", "coproduction")
    org = "organisers"
    # The organisers cross-post their announcements on X and Mastodon (both instances see them).
    announcements = (
        (300.0, "Good morning and welcome to the 3rd National Co-production Conference! Registration and coffee "
                "in the foyer until 9.45. Wifi: CoProd-Guest"),
        (2640.0, "We're starting in the main hall in five minutes. Please take your seats!"),
        (6240.0, "Coffee break until 11.00, then morning workshops. Room list is on the back of your badge"),
        (12560.0, "Lunch is served in the dining hall. Open space topics board is in the foyer: add yours!"),
        (16150.0, "Afternoon workshops and open space start now. Whoever comes are the right people"),
        (22450.0, "Please make your way back to the main hall for 'Bringing it all together'"),
        (26950.0, "Thank you all for coming! Photos, videos and the graphic wall will be on our blog tonight"),
    )
    for i, (at, text) in enumerate(announcements, 1):
        add(ScenarioPost(f"org-x-{i:02d}", at, "x", org, text, hashtags=tags, likes=8 + i))
        add(ScenarioPost(f"org-mastodon-{i:02d}", at + 20, "mastodon", org, text, hashtags=tags,
                         instances=("a", "b"), likes=4 + i))
        if i in (1, 4, 7):
            add(ScenarioPost(f"org-bluesky-{i:02d}", at + 35, "bluesky", org, text, hashtags=tags))
    # The retweet storm: the organisers quote the councillor's keynote line and everyone retweets it.
    add(ScenarioPost("storm-original", 3480.0, "x", org,
                     "'Co-production isn't an add-on to policy, it's how policy should be made' @maeve",
                     hashtags=tags, likes=57,
                     media=(b.photo("stage", "Cllr Maeve Ogunleye at the lectern", "evt:stage:keynote"),)))
    storm_people = b.rng.sample(b.delegates, 30)
    t = 3500.0
    for i, person in enumerate(storm_people, 1):
        t += b.rng.uniform(4, 22)
        add(ScenarioPost(f"storm-rt-{i:02d}", round(t, 1), "x", person.key, repost_of="storm-original"))
    add(ScenarioPost("storm-boost-source", 3500.0, "mastodon", org,
                     "'Co-production isn't an add-on to policy, it's how policy should be made' @maeve",
                     hashtags=tags, instances=("a", "b")))
    for i, key in enumerate(("shona", "eilidh", "catriona", "bryony", "agnieszka", "imogen"), 1):
        add(ScenarioPost(f"storm-boost-{i:02d}", 3530.0 + i * 37, "mastodon", key, repost_of="storm-boost-source"))
    add(ScenarioPost("storm-bsky-source", 3510.0, "bluesky", "niamh",
                     "'Co-production isn't an add-on to policy, it's how policy should be made' 🔥 "
                     "Cllr Ogunleye at the national co-production conference", hashtags=tags, likes=31))
    for i, key in enumerate(("jasmine", "imogen", "kwame", "callan", "hannah", "arjun", "aileen"), 1):
        add(ScenarioPost(f"storm-repost-{i:02d}", 3540.0 + i * 29, "bluesky", key, repost_of="storm-bsky-source"))

    # Speakers' own accounts.
    add(ScenarioPost("isla-x-1", 2500.0, "x", "isla",
                     "Final run-through done. Can't wait to welcome everyone to the main hall in a few minutes",
                     hashtags=("coprodscot",)))
    add(ScenarioPost("isla-x-2", 5150.0, "x", "isla",
                     "Thank you @maeve and @ravi for such thoughtful openings. Now over to @callum for labels!",
                     hashtags=("coprodscot",)))
    add(ScenarioPost("isla-mastodon-1", 26100.0, "mastodon", "isla",
                     "What a day. Thank you to every delegate, facilitator and volunteer. We shared our strengths "
                     "and stretched our vision, and the graphic wall proves it ✏️", hashtags=tags,
                     instances=("a", "b")))
    add(ScenarioPost("maeve-x-1", 3100.0, "x", "maeve",
                     "Delighted to be speaking at the national co-production conference this morning. "
                     "Communities belong at the planning table", hashtags=("coprodscot",), likes=40))
    add(ScenarioPost("maeve-x-2", 4500.0, "x", "maeve",
                     "Thanks for the warm welcome. The 'Places to go, people to see' plan is online now: "
                     "https://strathbeck.example.org/active-later-life", hashtags=("coprodscot",),
                     link_title="Places to go, people to see: active later life plan"))
    add(ScenarioPost("ravi-mastodon-1", 5300.0, "mastodon", "ravi",
                     "My slides from this morning, with the change fund examples people asked about: "
                     "https://jointcare.example.org/slides/tipping-point", hashtags=("coprodscot",),
                     instances=("b", "a"), link_title="Close to the tipping point (slides)"))
    add(ScenarioPost("ravi-bluesky-1", 20400.0, "bluesky", "ravi",
                     "Sitting in on an open space about paying people for their time. Challenging and important",
                     hashtags=("coprodscot",)))
    add(ScenarioPost("callum-x-1", 5260.0, "x", "callum",
                     "Labels out! One thing you can contribute today, one question you want to ask. Go 🏷️",
                     hashtags=("coprodscot",), media=(b.photo("labels", "A hand writing on a label"),)))
    add(ScenarioPost("callum-bluesky-1", 6000.0, "bluesky", "callum",
                     "The labels wall after 20 minutes. Every one of these is an offer or a question",
                     hashtags=("coprodscot",), media=(b.photo("labels"), b.photo("labels"))))
    add(ScenarioPost("priya-x-1", 6500.0, "x", "priya",
                     "We'll type up every label and share them on the network site. Why? Because the questions "
                     "are as valuable as the answers", hashtags=tags))
    add(ScenarioPost("juno-mastodon-1", 1800.0, "mastodon", "juno",
                     "Paper wall up, pens lined up, coffee in. Drawing the whole conference today ✏️",
                     hashtags=("coprodscot", "graphicfacilitation"), instances=("b", "a"),
                     media=(b.photo("wallchart", "A blank paper wall with pens lined up", "evt:wallchart:blank"),)))
    add(ScenarioPost("juno-mastodon-2", 13000.0, "mastodon", "juno",
                     "Half-time on the wall chart: opening speeches on the left, morning workshops in the middle",
                     hashtags=("coprodscot", "graphicfacilitation"), instances=("b", "a"),
                     media=(b.photo("wallchart", "The wall chart half finished", "evt:wallchart:halftime"),)))
    add(ScenarioPost("juno-bluesky-1", 25900.0, "bluesky", "juno",
                     "Finished! Gifts, soft outcomes, sharing power, and a lot of tea ✏️ Thank you for letting me "
                     "listen in", hashtags=("coprodscot", "graphicfacilitation"),
                     media=(b.photo("wallchart", "The finished graphic recording", "evt:wallchart:final"),)))
    add(ScenarioPost("tam-x-1", 24500.0, "x", "tam",
                     "Helping @juno fill in the last corner of the graphic. Can you spot your workshop?",
                     hashtags=("coprodscot",)))


def _reporter(b: _Builder) -> None:
    """The social reporter: photos and clips on X/Mastodon/Bluesky, Flickr uploads in batches, YouTube links."""
    add = b.add
    rng = b.rng
    tags = ("coprodscot",)
    moments: tuple[tuple[float, str, str, str], ...] = (
        (900.0, "coffee", "Registration in full swing. Say hello if you see the person with the camera!",
         "Registration"),
        (2200.0, "hall", "The main hall filling up for the welcome", "Main hall before the welcome"),
        (2800.0, "stage", "@isla opening the 3rd National Co-production Conference", "Welcome from the chair"),
        (3400.0, "stage", "@maeve on why co-production belongs at the heart of policy", "Opening remarks"),
        (4400.0, "stage", "@ravi: are we at the tipping point?", "The tipping point"),
        (5400.0, "labels", "One thing to contribute, one question to ask. The labels wall is filling up",
         "The labels wall"),
        (7600.0, "workshop", "Morning workshop on asset-based approaches, mapping what's strong",
         "Asset-based approaches workshop"),
        (9100.0, "workshop", "Time banking workshop: an hour is an hour", "Time banking workshop"),
        (11000.0, "workshop", "Young people running their own workshop in the Pentland Room",
         "Co-producing with young people"),
        (13300.0, "lunch", "Lunch, and the conversations carry on", "Lunch"),
        (16800.0, "openspace", "Open space marketplace: delegates proposing topics", "Open space marketplace"),
        (18600.0, "openspace", "An open space circle on co-production in rural and island communities",
         "Open space: rural and island communities"),
        (21000.0, "workshop", "Sharing power in commissioning: the budget is where the power is",
         "Sharing power in commissioning"),
        (23000.0, "hall", "Back together in the main hall for the final session", "Bringing it all together"),
        (24200.0, "wallchart", "The graphic facilitation wall, nearly done", "Graphic facilitation"),
        (26300.0, "group", "That's a wrap! Thank you, everyone", "That's a wrap"),
    )
    platforms: tuple[PlatformName, ...] = ("x", "mastodon", "bluesky")
    flickr_batch: list[tuple[str, str, str]] = []  # (seed, title, alt)
    for i, (at, kind, caption, title) in enumerate(moments, 1):
        platform = platforms[i % 3]
        seed = f"evt:{kind}:bea-{i:02d}"
        alt = rng.choice(_ALT[kind])
        shots: tuple[MediaSpec, ...] = (MediaSpec("photo", alt, seed=seed),)
        if i % 4 == 0:  # some with a second photo
            shots = (*shots, b.photo(kind))
        add(ScenarioPost(f"bea-{platform}-{i:02d}", at, platform, "bea", caption, hashtags=tags, media=shots,
                         instances=("b", "a") if platform == "mastodon" else (), likes=rng.randint(5, 30)))
        flickr_batch.append((seed, title, alt))
    # Short clips straight from the phone.
    clips: tuple[tuple[float, PlatformName, str, str], ...] = (
        (5600.0, "x", "labels", "30 seconds at the labels wall: what are people offering today? 🎥"),
        (9800.0, "bluesky", "workshop", "Quick clip from the peer support workshop, shared with permission 🎥"),
        (19300.0, "mastodon", "openspace", "The open space marketplace in 20 seconds 🎥"),
        (24800.0, "x", "wallchart", "Timelapse preview: a day of conversations becoming one picture ✏️🎥"),
    )
    for i, (at, platform, kind, text) in enumerate(clips, 1):
        add(ScenarioPost(f"bea-clip-{i:02d}", at, platform, "bea", text, hashtags=tags,
                         media=(b.video(kind, text.split(":")[0], f"evt:{kind}:clip-{i:02d}", 20 + i * 5),),
                         instances=("b", "a") if platform == "mastodon" else ()))
    # Flickr: uploaded in batches at the breaks (same seeds as the posts: the same photo in two places).
    batches = ((6400.0, 0, 6), (12900.0, 6, 9), (22600.0, 9, 13), (27400.0, 13, 16))
    n = 0
    for at, lo, hi in batches:
        for seed, title, alt in flickr_batch[lo:hi]:
            n += 1
            add(ScenarioPost(f"flickr-bea-{n:02d}", at + n * 7, "flickr", "bea",
                             f"{alt}. Photo {n} from the day, by our social reporter.",
                             hashtags=("coprodscot", "coproduction", "edinburgh"), title=title,
                             media=(MediaSpec("photo", alt, seed=seed),)))
        for k in range(4):  # plus a few that were never posted elsewhere
            n += 1
            kind = rng.choice(("hall", "workshop", "openspace", "coffee", "group", "labels", "lunch"))
            pic = b.photo(kind)
            add(ScenarioPost(f"flickr-bea-{n:02d}", at + n * 7, "flickr", "bea",
                             f"{pic.alt}. Photo {n} from the day.",
                             hashtags=("coprodscot", "coproduction"), title=pic.alt[:50], media=(pic,)))
            del k
    # Flickr from the organisers and two delegates.
    for i, (at, kind, title) in enumerate((
        (3000.0, "hall", "Main hall, opening remarks"), (8000.0, "workshop", "Workshop in the Braid Room"),
        (17500.0, "openspace", "Open space circle"), (25000.0, "wallchart", "Graphic facilitation wall"),
        (26400.0, "group", "Organising team at the close"), (30000.0, "wallchart", "The finished graphic, in full"),
    ), 1):
        pic = b.photo(kind, seed=f"evt:{kind}:org-{i}")
        add(ScenarioPost(f"flickr-org-{i:02d}", at, "flickr", "organisers", f"{title}: {pic.alt[0].lower()}"
                         f"{pic.alt[1:]}.",
                         hashtags=("coprodscot", "coproduction"), title=title, media=(pic,)))
    for i, (at, key, kind, title) in enumerate((
        (14000.0, "hamish", "lunch", "Lunch with the Lowland crew"),
        (20000.0, "eilidh", "openspace", "Island groups open space"),
        (24100.0, "kirsty", "wallchart", "That wall chart!"),
        (28500.0, "eilidh", "group", "Machair Time Bank at the conference"),
    ), 1):
        pic = b.photo(kind)
        add(ScenarioPost(f"flickr-{key}-{i:02d}", at, "flickr", key, f"{title} 📷",
                         hashtags=("coprodscot",), title=title, media=(pic,)))
    # YouTube: short interviews and the timelapse on the organisers' channel; the reporter tweets the links.
    interviews = (
        (8400.0, "hamish", "Hamish Tolmie, Lowland Community Network: why we map assets first"),
        (10200.0, "aileen", "Aileen Mackie, Firth Carers Collective: carers as partners"),
        (11800.0, "kwame", "Kwame Asante-Ross, Eastgate Recovery Café: peer support in recovery"),
        (15000.0, "morag", "Mòrag NicLeòid: co-production in island communities"),
        (17800.0, "bryony", "Bryony Aitchison, Kelpie Youth Forum: young people leading"),
        (19900.0, "callum", "Callum Ferrie: one thing to contribute, one question to ask"),
        (21600.0, "priya", "Priya Lindqvist: what the network learned this year"),
        (23800.0, "juno", "Juno Maclaren: what does a graphic facilitator do?"),
    )
    for i, (at, who, title) in enumerate(interviews, 1):
        vid_post = f"yt-interview-{i:02d}"
        add(ScenarioPost(vid_post, at, "youtube", "organisers",
                         f"{title}. A short interview from the conference by our social reporter.",
                         hashtags=("coprodscot",), title=title, playlists=(PLAYLIST_ID,), likes=rng.randint(3, 25),
                         media=(b.video("portrait", title, f"evt:portrait:{who}", rng.randint(60, 150)),)))
        if i % 2 == 1:
            link_platform: PlatformName = ("x", "bluesky")[(i // 2) % 2]
            add(ScenarioPost(f"bea-yt-{i:02d}", at + 240, link_platform, "bea",
                             f"New interview 🎥 {title.split(':')[0]}: https://www.youtube.com/watch?v="
                             f"{youtube_video_id(vid_post)}", hashtags=tags, link_title=title))
    add(ScenarioPost("yt-opening", 7000.0, "youtube", "organisers",
                     "Highlights of the welcome and opening remarks.", hashtags=("coprodscot",),
                     title="Welcome and opening remarks: highlights", playlists=(PLAYLIST_ID,),
                     media=(b.video("stage", "Opening remarks", "evt:stage:yt-opening", 240),)))
    add(ScenarioPost("yt-timelapse", 26700.0, "youtube", "organisers",
                     "A whole day of conversations drawn onto one wall, in ninety seconds.",
                     hashtags=("coprodscot", "graphicfacilitation"), title="Graphic facilitation timelapse",
                     playlists=(PLAYLIST_ID,), likes=48,
                     media=(b.video("wallchart", "Graphic facilitation timelapse", "evt:wallchart:timelapse", 90),)))
    add(ScenarioPost("yt-labels", 30500.0, "youtube", "organisers",
                     "What delegates offered and asked on their labels.", hashtags=("coprodscot",),
                     title="One thing to contribute, one question to ask", playlists=(PLAYLIST_ID,),
                     media=(b.video("labels", "The labels wall", "evt:labels:yt", 120),)))
    add(ScenarioPost("bea-yt-timelapse", 26900.0, "mastodon", "bea",
                     "The graphic facilitation timelapse is up! https://www.youtube.com/watch?v="
                     f"{youtube_video_id('yt-timelapse')}", hashtags=("coprodscot", "graphicfacilitation"),
                     instances=("b", "a"), link_title="Graphic facilitation timelapse"))
    # Blog entries (the organisers' Atom feed).
    blog = (
        ("blog-live", 3000.0, "Live from the 3rd National Co-production Conference",
         "Over 200 delegates are with us at Pollock Halls today. Follow #coprodscot for photos, videos and "
         "posts from every workshop.", "hall"),
        ("blog-labels", 9000.0, "One thing to contribute, one question to ask",
         "Every delegate wrote a label this morning: one thing they could bring to the day and one question "
         "they wanted to ask. Here is what the wall says so far.", "labels"),
        ("blog-workshops", 17000.0, "Workshops and open space: what we've heard so far",
         "From asset-based approaches to time banking, the morning workshops were full of practical, honest "
         "stories. This afternoon delegates are leading their own open space discussions.", "workshop"),
        ("blog-together", 28000.0, "Bringing it all together",
         "Delegates reflected on the role of co-production beyond public services, the importance of "
         "relationships, and soft outcomes rather than hard targets. The graphic facilitators captured it all.",
         "wallchart"),
        ("blog-videos", 31000.0, "Videos from the day",
         "Short interviews with delegates and facilitators, and the graphic facilitation timelapse: "
         f"https://www.youtube.com/playlist?list={PLAYLIST_ID}", "portrait"),
    )
    for pid, at, title, text, kind in blog:
        add(ScenarioPost(pid, at, "feed", "organisers", text, hashtags=("coprodscot", "coproduction"), title=title,
                         media=(b.photo(kind, seed=f"evt:{kind}:{pid}"),)))


# Ids of the special posts, for tests and the demo ("the same photo on Flickr and in a tweet" ...).
FEATURES: dict[str, tuple[str, ...]] = {
    "retweet_storm_original": ("storm-original",),
    "crosspost": ("xpost-x", "xpost-mastodon", "xpost-bluesky"),
    "crosspost_close": ("xpost-close-x", "xpost-close-mastodon", "xpost-close-bluesky"),
    "same_photo_flickr_and_tweet": ("photo-labels-x", "photo-labels-flickr"),
    "same_photo_reporter": ("bea-mastodon-01", "flickr-bea-01"),
    "deleted": ("deleted-wrong-room", "deleted-phone-number"),
    "edited": ("edited-quote",),
    "content_warning": ("cw-recovery", "cw-lunch"),
    "rtl": ("rtl-arabic", "rtl-urdu", "rtl-arabic-reply"),
    "gaelic": ("gd-1", "gd-2", "gd-3"),
    "polish": ("pl-1", "pl-2"),
    "emoji": ("emoji-1", "emoji-2"),
    "youtube_timelapse": ("yt-timelapse",),
    "blog": ("blog-live", "blog-labels", "blog-workshops", "blog-together", "blog-videos"),
}


def _features(b: _Builder) -> None:
    add = b.add
    tags = ("coprodscot", "coproduction")
    # One person posting the same text on X, Mastodon and Bluesky within two minutes.
    text = ("Labels wall question that stopped me in my tracks: 'who isn't in this room, and why not?' "
            "Let's make sure next year's answer is different")
    add(ScenarioPost("xpost-x", 5900.0, "x", "priya", text, hashtags=tags, likes=22))
    add(ScenarioPost("xpost-mastodon", 5950.0, "mastodon", "priya", text, hashtags=tags, instances=("a", "b")))
    add(ScenarioPost("xpost-bluesky", 6010.0, "bluesky", "priya", text, hashtags=tags))
    close = "Thank you to all 200+ of you. Co-production isn't a project, it's how we do things. See you next year!"
    add(ScenarioPost("xpost-close-x", 26500.0, "x", "priya", close, hashtags=tags))
    add(ScenarioPost("xpost-close-mastodon", 26530.0, "mastodon", "priya", close, hashtags=tags))
    add(ScenarioPost("xpost-close-bluesky", 26590.0, "bluesky", "priya", close, hashtags=tags))
    # The same photo in a tweet and on Flickr.
    wall = MediaSpec("photo", "The finished labels wall: hundreds of coloured labels", seed="evt:labels:wall-full")
    add(ScenarioPost("photo-labels-x", 6200.0, "x", "bea", "The finished labels wall. What a snapshot of the network",
                     hashtags=("coprodscot",), media=(wall,), likes=34))
    add(ScenarioPost("photo-labels-flickr", 6420.0, "flickr", "bea", "The finished labels wall.",
                     hashtags=("coprodscot", "coproduction", "labels"), title="The labels wall", media=(wall,)))
    # Deleted at the source later in the day.
    add(ScenarioPost("deleted-wrong-room", 7260.0, "x", "fraser",
                     "Asset-based workshop has moved to the Meadows Room", hashtags=("coprodscot",),
                     deleted_at=8100.0))
    add(ScenarioPost("deleted-phone-number", 14200.0, "mastodon", "gregor",
                     "Anyone want a lift back to Fife later? Text me on 07700 900123", hashtags=("coprodscot",),
                     instances=("b", "a"), deleted_at=15000.0))
    # Edited: a misquote corrected.
    add(ScenarioPost("edited-quote", 3600.0, "mastodon", "shona",
                     "Cllr Ogunleye: 'co-production is an add-on to policy' 🤔",
                     hashtags=tags, instances=("a", "b"), edited_at=3900.0,
                     edited_text="Cllr Ogunleye: 'co-production ISN'T an add-on to policy, it's how policy should "
                                 "be made' (corrected, sorry, typing too fast!)"))
    # Content warnings (Mastodon spoiler text): queued by hide_content_warnings.
    add(ScenarioPost("cw-recovery", 9300.0, "mastodon", "olu",
                     "Powerful stories in the peer support workshop about losing friends to addiction, and how "
                     "recovery communities hold each other up. Thank you for trusting the room.",
                     hashtags=("coprodscot",), content_warning="addiction, bereavement", instances=("b", "a")))
    add(ScenarioPost("cw-lunch", 12900.0, "mastodon", "lorna", "Conference lunch is a triumph: stovies!",
                     hashtags=("coprodscot",), content_warning="food",
                     media=(b.photo("lunch", "A plate of stovies on a lunch table"),)))
    # Right-to-left text and emoji.
    add(ScenarioPost("rtl-arabic", 8800.0, "bluesky", "yasmin",
                     "ورشة رائعة عن المشاركة في الإنتاج مع العائلات الجديدة في اسكتلندا 🤝 نبدأ من نقاط القوة",
                     hashtags=("coprodscot",), language="ar"))
    add(ScenarioPost("rtl-urdu", 13500.0, "x", "farah",
                     "آج کی کانفرنس بہت اچھی رہی۔ ہماری خواتین کی صحت کی کہانیاں سب نے سنیں 💚",
                     hashtags=("coprodscot",), language="ur"))
    add(ScenarioPost("rtl-arabic-reply", 9100.0, "bluesky", "hannah",
                     "@yasmin شكرا! Thank you for translating the workshop notes for our families 💛",
                     hashtags=("coprodscot",), reply_to="rtl-arabic", language="ar"))
    add(ScenarioPost("gd-1", 1500.0, "mastodon", "morag",
                     "Madainn mhath à Dùn Èideann! Tha mi aig a' cho-labhairt an-diugh 👋",
                     hashtags=("coprodscot",), language="gd", instances=("a", "b")))
    add(ScenarioPost("gd-2", 18900.0, "mastodon", "morag",
                     "Còmhradh math mu choimhearsnachdan eileanach. Tha sinn uile ag ionnsachadh",
                     hashtags=("coprodscot",), language="gd", instances=("a", "b")))
    add(ScenarioPost("gd-3", 28200.0, "x", "morag", "Latha math dha-rìribh. Tapadh leibh uile! 🏝️",
                     hashtags=("coprodscot",), language="gd"))
    add(ScenarioPost("pl-1", 10400.0, "x", "agnieszka",
                     "Świetne warsztaty o bankach czasu. Godzina to godzina, niezależnie kto ją daje",
                     hashtags=("coprodscot",), language="pl"))
    add(ScenarioPost("pl-2", 10700.0, "bluesky", "tomasz",
                     "@agnieszka Zgadzam się! Musimy to spróbować w naszej społeczności 🇵🇱🏴",
                     hashtags=("coprodscot",), language="pl"))
    add(ScenarioPost("emoji-1", 5500.0, "bluesky", "jasmine",
                     "🏷️➡️🧱 my label is on the wall! 🙋🏽‍♀️ contribute: ♿ access audits 🔍 ask: 🤔 who isn't here?",
                     hashtags=("coprodscot",)))
    add(ScenarioPost("emoji-2", 24300.0, "x", "stevie", "The graphic wall 😍🎨✏️👏👏👏 #coprodscot",
                     media=(b.photo("wallchart"),)))


def _offtopic_spam_rude(b: _Builder) -> None:
    add = b.add
    # Another event on #coproduction: a documentary co-production forum in Lisbon the same day.
    offtopic: tuple[tuple[float, PlatformName, str, str], ...] = (
        (1000.0, "x", "docsforum", "Day 2 of the Tagus Docs Co-Pro Forum: 24 documentary projects pitch to "
                                   "broadcasters this morning 🎬"),
        (4100.0, "x", "ines", "Our feature doc just found a Danish partner at the forum in Lisbon! Treaty "
                              "co-production, here we come 🇵🇹🇩🇰"),
        (8000.0, "bluesky", "marcantoine", "Panel on minority co-producer rights and tax incentives at "
                                           "the Lisbon forum. Packed room 🎥"),
        (11200.0, "mastodon", "ines", "Pitch went well! Three broadcasters asked for the screener"),
        (15800.0, "x", "marcantoine", "Selling a Franco-Portuguese animated series is all about the "
                                      "co-production treaty. Notes from today's session"),
        (19000.0, "bluesky", "docsforum", "Winners of the Tagus Docs Co-Pro Forum development award "
                                          "announced tonight at the Cinemateca 🏆"),
        (23500.0, "x", "docsforum", "Applications for next year's co-production market open in September"),
        (29000.0, "mastodon", "marcantoine", "Wrapping up the forum with a rooftop screening in Lisbon 🌅"),
    )
    for i, (at, platform, who, text) in enumerate(offtopic, 1):
        add(ScenarioPost(f"{OFFTOPIC_PREFIX}{i:02d}", at, platform, who, text,
                         hashtags=("coproduction", "documentary"), instances=("a",) if platform == "mastodon" else ()))
    add(ScenarioPost(f"{OFFTOPIC_PREFIX}flickr", 16500.0, "flickr", "docsforum", "Pitching session, day two.",
                     hashtags=("coproduction", "documentary", "lisbon"), title="Pitch session, Lisbon",
                     media=(MediaSpec("photo", "A panel on a stage in front of a cinema screen",
                                      seed="evt:stage:lisbon"),)))
    # Spam (blocked words: rejected).
    spam: tuple[tuple[float, PlatformName, str, str, str | None], ...] = (
        (2000.0, "x", "luckyspins", "🎰 Best online casino bonus today: 200 free spins, no deposit! Link in bio", None),
        (2900.0, "x", "airdrop", "@organisers Congratulations! You were selected for our crypto giveaway 🚀 "
                                 "DM us to claim", "org-x-01"),
        (7800.0, "bluesky", "airdrop", "CRYPTO GIVEAWAY live now 💰 send 0.1, get 0.2 back. Only 50 spots!", None),
        (10900.0, "mastodon", "luckyspins", "Casino night promo: use code COPROD50 for a free bet", None),
        (17300.0, "x", "airdrop", "Trending now: the biggest crypto giveaway of 2014, 5,000 winners", None),
        (21900.0, "bluesky", "luckyspins", "Live casino tournaments every evening, join now 🎲", None),
        (25200.0, "x", "luckyspins", "Bored at a conference? Our casino app pays out in minutes 💸", None),
        (28800.0, "mastodon", "airdrop", "Last chance: crypto giveaway ends at midnight!", None),
    )
    for i, (at, platform, who, text, reply) in enumerate(spam, 1):
        add(ScenarioPost(f"{SPAM_PREFIX}{i:02d}", at, platform, who, text, hashtags=("coprodscot", "coproduction"),
                         reply_to=reply, instances=("a", "b") if platform == "mastodon" else ()))
    # Mild profanity (the shipped list: queued for a moderator).
    rude: tuple[tuple[float, PlatformName, str, str], ...] = (
        (1900.0, "x", "sandy", "The wifi in here is absolute shite. How am I meant to live-tweet this"),
        (3900.0, "x", "grumpycitizen", "'Empowering communities', from the people who closed our day centre. "
                                       "Bollocks"),
        (7500.0, "mastodon", "wullie", "Bit pissed off the workshop I wanted was full by quarter past nine"),
        (8700.0, "bluesky", "dougie", "Sat on my arse on the M8 for two hours and missed the opening. Gutted"),
        (20500.0, "x", "grumpycitizen", "Anyone who says co-production is a way to save money is talking bullshit"),
        (25800.0, "mastodon", "stevie", "Whoever scheduled the two best workshops at the same time: you absolute "
                                        "bastard 😂"),
    )
    for i, (at, platform, who, text) in enumerate(rude, 1):
        add(ScenarioPost(f"{RUDE_PREFIX}{i:02d}", at, platform, who, text, hashtags=("coprodscot",),
                         instances=("b", "a") if platform == "mastodon" else ()))


# ---------------------------------------------------------------- public API


def coproduction_day() -> Scenario:
    """The conference day (deterministic: the same Scenario on every call)."""
    return _build()


def expected_catch_reasons() -> dict[str, str]:
    """Scenario post id -> what moderation (demo.toml's policy) should do with it, by rule name.

    "blocked_word" (rejected), "profanity" and "content_warning" (queued) are
    the automatic rules of aggregator.pipeline.moderate; "offtopic" is another
    event's post on the hashtag, which only a moderator can recognise.
    """
    out: dict[str, str] = {}
    for p in coproduction_day().posts:
        if p.id.startswith(SPAM_PREFIX):
            out[p.id] = "blocked_word"
        elif p.id.startswith(RUDE_PREFIX):
            out[p.id] = "profanity"
        elif p.id.startswith(CW_PREFIX):
            out[p.id] = "content_warning"
        elif p.id.startswith(OFFTOPIC_PREFIX):
            out[p.id] = "offtopic"
    return out


def expected_caught() -> set[str]:
    """Every scenario post id that moderation (automatic rules or a moderator) should keep off the wall."""
    return set(expected_catch_reasons())
