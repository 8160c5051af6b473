"""makerates_lake."""
