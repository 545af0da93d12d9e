/**
 * Apple Podcasts' category list (podcasters.apple.com, "Apple Podcasts categories", the
 * 2019 list Spotify and Podcast Index also read). A feed naming anything else is refused
 * by Apple's validator, so the feed only emits names from here, in Apple's spelling.
 */
export const appleCategories: Readonly<Record<string, readonly string[]>> = {
  Arts: ['Books', 'Design', 'Fashion & Beauty', 'Food', 'Performing Arts', 'Visual Arts'],
  Business: ['Careers', 'Entrepreneurship', 'Investing', 'Management', 'Marketing', 'Non-Profit'],
  Comedy: ['Comedy Interviews', 'Improv', 'Stand-Up'],
  Education: ['Courses', 'How To', 'Language Learning', 'Self-Improvement'],
  Fiction: ['Comedy Fiction', 'Drama', 'Science Fiction'],
  Government: [],
  History: [],
  'Health & Fitness': [
    'Alternative Health',
    'Fitness',
    'Medicine',
    'Mental Health',
    'Nutrition',
    'Sexuality',
  ],
  'Kids & Family': ['Education for Kids', 'Parenting', 'Pets & Animals', 'Stories for Kids'],
  Leisure: [
    'Animation & Manga',
    'Automotive',
    'Aviation',
    'Crafts',
    'Games',
    'Hobbies',
    'Home & Garden',
    'Video Games',
  ],
  Music: ['Music Commentary', 'Music History', 'Music Interviews'],
  News: [
    'Business News',
    'Daily News',
    'Entertainment News',
    'News Commentary',
    'Politics',
    'Sports News',
    'Tech News',
  ],
  'Religion & Spirituality': [
    'Buddhism',
    'Christianity',
    'Hinduism',
    'Islam',
    'Judaism',
    'Religion',
    'Spirituality',
  ],
  Science: [
    'Astronomy',
    'Chemistry',
    'Earth Sciences',
    'Life Sciences',
    'Mathematics',
    'Natural Sciences',
    'Nature',
    'Physics',
    'Social Sciences',
  ],
  'Society & Culture': ['Documentary', 'Personal Journals', 'Philosophy', 'Places & Travel', 'Relationships'],
  Sports: [
    'Baseball',
    'Basketball',
    'Cricket',
    'Fantasy Sports',
    'Football',
    'Golf',
    'Hockey',
    'Rugby',
    'Running',
    'Soccer',
    'Swimming',
    'Tennis',
    'Volleyball',
    'Wilderness',
    'Wrestling',
  ],
  Technology: [],
  'True Crime': [],
  'TV & Film': ['After Shows', 'Film History', 'Film Interviews', 'Film Reviews', 'TV Reviews'],
};

export interface AppleCategory {
  category: string;
  subcategory: string | null;
}

const byName = new Map<string, AppleCategory>();
for (const [top, subs] of Object.entries(appleCategories)) {
  byName.set(top.toLowerCase(), { category: top, subcategory: null });
  for (const sub of subs) {
    // "Religion" is both a sub-category name and a word of its parent; the sub wins only
    // when written as "parent > sub".
    if (!byName.has(sub.toLowerCase())) byName.set(sub.toLowerCase(), { category: top, subcategory: sub });
    byName.set(`${top} > ${sub}`.toLowerCase(), { category: top, subcategory: sub });
  }
}

/**
 * Apple's category for what a creator typed: a top-level name ("technology"), a
 * sub-category ("documentary", implying its parent) or "parent > sub"; case-insensitive.
 * Null when Apple has no such category.
 */
export function appleCategory(text: string): AppleCategory | null {
  return (
    byName.get(
      text
        .trim()
        .toLowerCase()
        .replace(/\s*>\s*/, ' > '),
    ) ?? null
  );
}

/** The itunes:category tree of a list of names: sub-categories nested under their parent. */
export function categoryTree(names: readonly string[]): Array<{ category: string; subcategories: string[] }> {
  const out: Array<{ category: string; subcategories: string[] }> = [];
  for (const name of names) {
    const c = appleCategory(name);
    if (!c) continue;
    let node = out.find((n) => n.category === c.category);
    if (!node) {
      node = { category: c.category, subcategories: [] };
      out.push(node);
    }
    if (c.subcategory && !node.subcategories.includes(c.subcategory)) node.subcategories.push(c.subcategory);
  }
  return out;
}
