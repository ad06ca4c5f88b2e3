-- description: Products whose name starts with a prefix, cheapest first (the shop's search box).
-- param: prefix = (SELECT left(name, 3) FROM catalog.products ORDER BY id LIMIT 1)
SELECT id, sku, name, price_cents
FROM catalog.products
WHERE name LIKE :'prefix' || '%'
ORDER BY price_cents, name
LIMIT 20;
