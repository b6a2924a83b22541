# expect: CWE-295 vulnerable
import aiohttp


async def post_settlement(url: str, body: dict) -> int:
    async with aiohttp.ClientSession() as s:
        async with s.post(url, json=body, ssl=False) as resp:
            return resp.status
