'use strict';

/*
 * Helpers for printing seed-format posts.
 *
 * The crawler writes every "{" and "}" of a post, front matter included, as the character
 * references &#123; and &#125;: Hexo runs post content through Nunjucks, and a brace pair in a
 * news article would otherwise be read as a tag. In the body, which is HTML, a browser turns the
 * references back into braces by itself. Front-matter values are printed by the theme, though:
 * escaped as plain text they would show "&#123;JSON&#125;", printed raw they would let any markup
 * in a title through. So a value is read as text that may hold numeric character references:
 * those are decoded here, and the template escapes the result (`<%= %>`).
 */

const NUMERIC_REFERENCE = /&#(?:([0-9]{1,7})|[xX]([0-9a-fA-F]{1,6}));/g;

function seedValue(value) {
  if (value === undefined || value === null) return '';
  return String(value).replace(NUMERIC_REFERENCE, (reference, decimal, hex) => {
    const code = decimal === undefined ? parseInt(hex, 16) : parseInt(decimal, 10);
    // Not a character (a surrogate or past U+10FFFF): leave the text as written.
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return reference;
    return String.fromCodePoint(code);
  });
}

/*
 * A post's categories from the outermost to the innermost. Hexo keeps a post's nested
 * categories as a set of records, each knowing only its parent; a child's slug holds its
 * ancestors' ("演示/演示头条/科技"), so the number of segments orders them without a lookup.
 */
function categoryTrail(post) {
  if (!post || !post.categories) return [];
  const depth = category => String(category.slug).split('/').length;
  return post.categories.toArray().sort((a, b) => depth(a) - depth(b));
}

hexo.extend.helper.register('seed_value', seedValue);
hexo.extend.helper.register('category_trail', categoryTrail);
