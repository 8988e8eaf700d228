"""Channel connectors (Telegram, Zalo OA, SMS through Kannel): one package per platform."""
