// Node module hooks: `graphql` (and its subpaths) resolves from this folder wherever it is
// imported, so the built oncely in ../../../dist, which would otherwise find the main project's
// graphql 16, shares this folder's graphql 17 with this folder's GraphQL Yoga.
const fixture = new URL('./package.json', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'graphql' || specifier.startsWith('graphql/')) {
    return nextResolve(specifier, { ...context, parentURL: fixture });
  }
  return nextResolve(specifier, context);
}
