# REINFORCE and actor-critic in the style of pytorch/examples reinforcement_learning
# (https://github.com/pytorch/examples/tree/main/reinforcement_learning, reinforce.py and
# actor_critic.py, BSD-3-Clause): the same idioms (a Policy whose forward ends in
# F.softmax(action_scores, dim=1), Categorical(probs) with log_prob, saved log probs in lists,
# discounted returns built backwards into a deque / list.insert(0, R), torch.tensor(returns),
# (returns - returns.mean()) / (returns.std() + eps) with eps = np.finfo(np.float32).eps.item(),
# torch.cat(policy_loss).sum(), SavedAction namedtuples, advantage = R - value.item(),
# F.smooth_l1_loss(value, torch.tensor([R])), torch.stack(...).sum(), del list[:]), plus
# Categorical(logits=...) with entropy() as an entropy bonus, written for this test at a tiny
# size. The gym episodes are replaced by fixed NumPy trajectories (states, actions, rewards)
# so both frameworks see the same data; the actions the policy samples are drawn only to
# check their shape. Only the import lines differ from the PyTorch program.
from collections import deque, namedtuple

import numpy as np

import glassnet as torch
import glassnet.nn as nn
import glassnet.nn.functional as F
import glassnet.optim as optim
from glassnet.distributions import Categorical

from _data import deterministic_state

gamma = 0.99
torch.manual_seed(543)
rng = np.random.default_rng(543)
eps = np.finfo(np.float32).eps.item()


def make_episode(length):
    states = rng.standard_normal((length, 4)).astype(np.float32)
    actions = rng.integers(0, 2, length)
    rewards = (1.0 + 0.5 * (actions == (states[:, 2] > 0))).tolist()
    return states, actions, rewards


episodes = [make_episode(int(n)) for n in rng.integers(6, 14, 10)]


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 32)
        self.dropout = nn.Dropout(p=0.0)
        self.affine2 = nn.Linear(32, 2)

        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


policy = Policy()
policy.load_state_dict(deterministic_state(policy, torch, seed=11))
optimizer = optim.Adam(policy.parameters(), lr=1e-2)


def select_action(state, recorded_action):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = m.sample()
    assert action.shape == (1,)
    action = torch.tensor([recorded_action])
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()


def finish_episode():
    R = 0
    policy_loss = []
    returns = deque()
    for r in policy.rewards[::-1]:
        R = r + gamma * R
        returns.appendleft(R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]
    return policy_loss.item()


losses = []
for states, actions, rewards in episodes:
    for state, recorded, reward in zip(states, actions, rewards):
        select_action(state, int(recorded))
        policy.rewards.append(reward)
    losses.append(finish_episode())

SavedAction = namedtuple("SavedAction", ["log_prob", "value"])


class ActorCritic(nn.Module):
    def __init__(self):
        super(ActorCritic, self).__init__()
        self.affine1 = nn.Linear(4, 32)
        self.action_head = nn.Linear(32, 2)
        self.value_head = nn.Linear(32, 1)

        self.saved_actions = []
        self.rewards = []
        self.entropies = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_logits = self.action_head(x)
        state_values = self.value_head(x)
        return action_logits, state_values


model = ActorCritic()
model.load_state_dict(deterministic_state(model, torch, seed=12))
optimizer = optim.Adam(model.parameters(), lr=3e-2)


def select_action_ac(state, recorded_action):
    state = torch.from_numpy(state).float()
    logits, state_value = model(state)
    m = Categorical(logits=logits)
    action = m.sample()
    assert action.shape == ()
    action = torch.tensor(recorded_action)
    model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
    model.entropies.append(m.entropy())
    return action.item()


def finish_episode_ac():
    R = 0
    saved_actions = model.saved_actions
    policy_losses = []
    value_losses = []
    returns = []
    for r in model.rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for (log_prob, value), R in zip(saved_actions, returns):
        advantage = R - value.item()
        policy_losses.append(-log_prob * advantage)
        value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
    optimizer.zero_grad()
    entropy = torch.stack(model.entropies).mean()
    loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum() - 0.01 * entropy
    loss.backward()
    optimizer.step()
    del model.rewards[:]
    del model.saved_actions[:]
    del model.entropies[:]
    return loss.item(), entropy.item()


for states, actions, rewards in episodes:
    for state, recorded, reward in zip(states, actions, rewards):
        select_action_ac(state, int(recorded))
        model.rewards.append(reward)
    losses.extend(finish_episode_ac())
print("losses", [round(v, 4) for v in losses])
