// The platform's maturity scale (reelstack_common.maturity), for the one place the client filters
// itself: the browse-all row it builds from the catalog when the home service cannot answer.
const RATING_LEVEL: Record<string, number> = {
  "TV-Y": 0, "TV-G": 0, G: 0,
  "TV-Y7": 1, "TV-Y7-FV": 1, PG: 1, "TV-PG": 1,
  "PG-13": 2, "TV-14": 2,
  R: 3, "NC-17": 3, "TV-MA": 3,
};
const PROFILE_LEVEL: Record<string, number> = { ALL: 0, "7+": 1, "13+": 2, "16+": 2, "18+": 3 };

export const TITLE_RATINGS = Object.keys(RATING_LEVEL);
export const PROFILE_MATURITIES = Object.keys(PROFILE_LEVEL);

export function titleLevel(rating: string | null | undefined): number {
  return rating ? (RATING_LEVEL[rating.trim().toUpperCase()] ?? 3) : 3; // unknown: adults only
}

export function profileLevel(maturity: string | null | undefined): number {
  return maturity ? (PROFILE_LEVEL[maturity.trim().toUpperCase()] ?? 0) : 0; // unknown: little kids
}

export function allows(profileMaturity: string | null | undefined, rating: string | null | undefined): boolean {
  return titleLevel(rating) <= profileLevel(profileMaturity);
}
