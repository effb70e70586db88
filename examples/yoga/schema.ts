import { idempotentDirectiveTypeDefs } from 'oncely/envelop';

export const typeDefs = /* GraphQL */ `
  ${idempotentDirectiveTypeDefs}

  type Order {
    id: ID!
    customer: String!
    item: String!
    quantity: Int!
    "Cents."
    amount: Int!
    "placed | paid"
    status: String!
    createdAt: String!
  }

  type Payment {
    id: ID!
    orderId: ID!
    amount: Int!
    "What a real payment provider would get as its idempotency key: stable across retries."
    chargeKey: String!
    createdAt: String!
    order: Order
  }

  input PlaceOrderInput {
    customer: String!
    "coffee, bagel or gift-card"
    item: String!
    quantity: Int!
    "One key per order the customer means to place; retries send the same one."
    idempotencyKey: String
  }

  type Checkout {
    "The order, paid."
    order: Order!
    payment: Payment!
    "The payment provider's charge."
    chargeId: ID!
    "The receipt the mailer sent."
    receiptId: ID!
  }

  type Query {
    "Every payment taken, oldest first."
    ledger: [Payment!]!
    order(id: ID!): Order
  }

  type Mutation {
    placeOrder(input: PlaceOrderInput!): Order!
    "Charges the order once, however often the request is retried."
    payOrder(orderId: ID!, idempotencyKey: String): Payment!
    "Places the order, charges it, marks it paid and mails the receipt; a retry after a crash resumes where it stopped."
    checkout(input: PlaceOrderInput!): Checkout!
  }
`;
