"""Dates and numbers on the pages are written the way each language writes them."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from registry.tables import CrawlRun

FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}
NARROW_NBSP = "\u202f"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def test_sheet_dates_in_french_and_english(client: AsyncTestClient) -> None:
    english = text_of((await client.get("/projects/lutece-core", headers=EN)).text)
    french = text_of((await client.get("/projects/lutece-core", headers=FR)).text)
    # Région Occitanie uses it since 2021-03-01
    assert "in production Mar 1, 2021" in english
    assert "en production 1 mars 2021" in french
    assert "2021-03-01" not in english and "2021-03-01" not in french
    # release dates of the timeline
    assert re.search(
        r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, 20\d\d", english
    )
    assert not re.search(r"\b(Jan|Feb|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, 20\d\d", french)


async def test_dashboard_numbers_dates_and_states_in_french_and_english(
    visitor: Any, client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    await CrawlRun.update({CrawlRun.requests: 12345, CrawlRun.added: 1234567}).where(
        CrawlRun.id == seeded["queued_run"]
    )
    await visitor.sign_in("camille")
    english = (await client.get("/dashboard", headers=EN)).text
    french = (await client.get("/dashboard", headers=FR)).text
    assert '<td class="num">12,345</td>' in english
    assert '<td class="num">1,234,567</td>' in english
    assert f'<td class="num">12{NARROW_NBSP}345</td>' in french
    assert f'<td class="num">1{NARROW_NBSP}234{NARROW_NBSP}567</td>' in french
    row_en = english[english.index("git.example.invalid/paris/seeded") :][:400]
    row_fr = french[french.index("git.example.invalid/paris/seeded") :][:400]
    assert "<td>queued</td>" in row_en and "<td>en attente</td>" in row_fr
    # the moment it was queued: "29 nov. 2026, 04:50:00" / "Nov 29, 2026, 4:50:00 AM"
    assert re.search(r"<td>[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d\s?[AP]M</td>", row_en)
    assert re.search(r"<td>\d{1,2} [a-zéû]+\.? \d{4}(,| à) \d\d:\d\d:\d\d</td>", row_fr), row_fr


async def test_search_counts_in_french_and_english(client: AsyncTestClient) -> None:
    english = text_of((await client.get("/?q=lutece", headers=EN)).text)
    french = text_of((await client.get("/?q=lutece", headers=FR)).text)
    assert "9 projects" in english and "9 projets" in french
    assert "1 project " in text_of((await client.get("/?q=lutece&license=EUPL-1.2")).text)


async def test_dashboard_months_in_french_and_english(
    visitor: Any, client: AsyncTestClient
) -> None:
    import calendar
    import datetime as dt

    french_months = [
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ]
    await visitor.sign_in("camille")
    english = (await client.get("/dashboard?project=lutece-core", headers=EN)).text
    french = (await client.get("/dashboard?project=lutece-core", headers=FR)).text
    # the declarations were recorded this month
    today = dt.datetime.now(dt.UTC).date()
    iso = f"{today:%Y-%m}"
    shown_en = f"{calendar.month_abbr[today.month]} {today.year}"
    shown_fr = f"{french_months[today.month - 1]} {today.year}"
    assert f'<th scope="row"><time datetime="{iso}">{shown_en}</time></th>' in english
    assert f'<th scope="row"><time datetime="{iso}">{shown_fr}</time></th>' in french


async def test_the_description_is_shown_in_the_visitors_language(client: AsyncTestClient) -> None:
    french = (await client.get("/projects/lutece-occitanie-portal", headers=FR)).text
    english = (await client.get("/projects/lutece-occitanie-portal", headers=EN)).text
    assert '<div class="readme"><p>Portail <strong>citoyen</strong> bâti sur Lutece.</p>' in french
    assert '<div class="readme"><p>Citizen portal built on Lutece.</p>' in english
    assert "Citizen portal" not in french and "Portail <strong>" not in english
