"""Test fixture: the Fall 2023 term's model (NeuralNetwork with forward, backward, update()
without an epoch, train, predict)."""

import numpy as np

from neural_networks.layers import initialize_layer
from neural_networks.losses import initialize_loss
from neural_networks.optimizers import initialize_optimizer


def initialize_model(name, loss, layer_args, optimizer_args, logger=None, seed=None):
    return NeuralNetwork(loss=loss, layer_args=layer_args, optimizer_args=optimizer_args, logger=logger, seed=seed)


class NeuralNetwork:
    def __init__(self, loss, layer_args, optimizer_args, logger=None, seed=None):
        self.n_layers = len(layer_args)
        self.layer_args = layer_args
        self.logger = logger
        self.loss = initialize_loss(loss)
        self.optimizer = initialize_optimizer(**optimizer_args)
        self.layers = [initialize_layer(**args) for args in layer_args[:-1]]

    def forward(self, X):
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, target, out):
        L = self.loss.forward(target, out)
        dY = self.loss.backward(target, out)
        for layer in reversed(self.layers):
            dY = layer.backward(dY)
        return L

    def update(self):
        for i, layer in enumerate(self.layers):
            for name, param in layer.parameters.items():
                delta = self.optimizer.update(name + str(i), param, layer.gradients[name])
                layer.parameters[name] = param - delta
            layer.clear_gradients()

    def predict(self, X, Y):
        Y_hat = self.forward(X)
        return Y_hat, self.backward(Y, Y_hat)

    def error(self, target, out):
        return float(np.mean(np.argmax(out, axis=1) != np.argmax(target, axis=1)))

    def train(self, dataset, epochs):
        args = dict(self.layer_args[-1])
        args["n_out"] = dataset.out_dim
        self.layers.append(initialize_layer(**args))
        for epoch in range(epochs):
            losses = []
            for _ in range(dataset.train.samples_per_epoch):
                X, Y = dataset.train.sample()
                Y_hat = self.forward(X)
                losses.append(self.backward(np.array(Y), np.array(Y_hat)))
                self.update()
            print(f"epoch {epoch} training loss {np.mean(losses):.4f}")

    def test(self, dataset):
        errors = []
        for _ in range(dataset.test.samples_per_epoch):
            X, Y = dataset.test.sample()
            errors.append(self.error(Y, self.forward(X)))
        return {"error": errors}
